//! Witness cosignatures (c2sp.org/tlog-cosignature, `cosignature/v1`): a
//! witness's statement that, at a time, the checkpoint is the largest
//! consistent tree head it has seen for the log.
//!
//! A cosignature is a note signature line by a witness key of type 0x04 (so
//! its key ID is `SHA-256(name || 0x0A || 0x04 || public key)[:4]`), whose
//! bytes after the key ID are the timestamp (POSIX seconds, big-endian u64)
//! and an Ed25519 signature of
//!
//! ```text
//! cosignature/v1
//! time <timestamp>
//! <the checkpoint body>
//! ```
//!
//! Witness public keys are [`Verifier`]s of [`KeyType::Cosignature`], whose
//! vkeys carry type byte 0x04; opening a checkpoint with them verifies its
//! cosignatures alongside the log's signature.

use crate::Error;
use crate::checkpoint::Checkpoint;
use crate::note::{KeyPair, KeyType, NoteSignature, Verifier, verify_ed25519};

/// The latest time a cosignature may state: 2^63 - 1.
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// The message a `cosignature/v1` signs for a checkpoint body at a time.
pub fn cosignature_message(checkpoint_text: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}").into_bytes()
}

/// The timestamp of a cosignature's bytes (after the key ID), unchecked.
pub fn cosignature_timestamp(signature: &NoteSignature) -> Option<u64> {
    let (timestamp, _) = signature.signature().split_first_chunk::<8>()?;
    Some(u64::from_be_bytes(*timestamp))
}

/// Verifies cosignature bytes (timestamp, then Ed25519 signature) of note
/// text by a witness key; the timestamp when valid.
pub(crate) fn verify(public_key: &[u8; 32], text: &str, signature: &[u8]) -> Option<u64> {
    let (timestamp, signature) = signature.split_first_chunk::<8>()?;
    let timestamp = u64::from_be_bytes(*timestamp);
    if timestamp > MAX_TIMESTAMP {
        return None;
    }
    verify_ed25519(public_key, &cosignature_message(text, timestamp), signature).then_some(timestamp)
}

/// A witness's cosigning key (signature type 0x04).
#[derive(Debug)]
pub struct Cosigner {
    key: KeyPair,
}

impl Cosigner {
    /// The key with this name and 32-byte Ed25519 seed.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, Error> {
        Ok(Self { key: KeyPair::from_seed(name, KeyType::Cosignature, seed)? })
    }

    /// Parses `PRIVATE+KEY+<name>+<key ID>+<base64(0x04 || seed)>`: the
    /// signer key form of signed notes with the cosignature type byte. No
    /// specification defines a private form for witness keys; this one keeps
    /// the key ID check.
    pub fn parse(skey: &str) -> Result<Self, Error> {
        Ok(Self { key: KeyPair::parse(skey, KeyType::Cosignature)? })
    }

    /// The signer key string: secret.
    pub fn signer_key(&self) -> String {
        self.key.signer_key()
    }

    /// The matching verifier; its vkey is what logs and clients configure.
    pub fn verifier(&self) -> Verifier {
        self.key.verifier()
    }

    /// The witness key's name.
    pub fn name(&self) -> &str {
        self.key.name()
    }

    /// The witness key's ID.
    pub fn key_id(&self) -> u32 {
        self.key.key_id()
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        self.key.public_key()
    }

    /// Cosigns a checkpoint at `timestamp` (POSIX seconds, at most
    /// [`MAX_TIMESTAMP`]).
    pub fn cosign(&self, checkpoint: &Checkpoint, timestamp: u64) -> Result<NoteSignature, Error> {
        if timestamp > MAX_TIMESTAMP {
            return Err(Error::InvalidTimestamp(timestamp));
        }
        let signature = self.key.sign(&cosignature_message(&checkpoint.to_text(), timestamp));
        let mut bytes = Vec::with_capacity(8 + signature.len());
        bytes.extend_from_slice(&timestamp.to_be_bytes());
        bytes.extend_from_slice(&signature);
        Ok(self.key.note_signature(bytes))
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use ring::signature::{ED25519, UnparsedPublicKey};
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::merkle::leaf_hash;
    use crate::note::{Note, Signer, VerifiedSignature};

    fn checkpoint() -> Checkpoint {
        Checkpoint::new("example.com/behind-the-sofa", 20852163, leaf_hash(b"root")).unwrap()
    }

    #[test]
    fn cosignatures_verify_and_say_when() {
        let log = Signer::from_seed("example.com/behind-the-sofa", &[1; 32]).unwrap();
        let witness = Cosigner::from_seed("witness.example.com/w1", &[2; 32]).unwrap();
        let checkpoint = checkpoint();
        let mut note = checkpoint.sign(&log).unwrap();
        note.add_signature(witness.cosign(&checkpoint, 1679315147).unwrap()).unwrap();
        let (_, verified) = Note::open(&note.to_bytes(), &[log.verifier(), witness.verifier()]).unwrap();
        assert_eq!(
            verified[1],
            VerifiedSignature {
                name: "witness.example.com/w1".into(),
                key_id: witness.key_id(),
                key_type: KeyType::Cosignature,
                timestamp: Some(1679315147),
            }
        );
        // The witness alone is a known key too.
        assert_eq!(Note::open(&note.to_bytes(), &[witness.verifier()]).unwrap().1.len(), 1);
        assert_eq!(cosignature_timestamp(&note.signatures()[1]), Some(1679315147));
    }

    #[test]
    fn cosignature_bytes_are_as_specified() {
        // Built independently of the code under test: key ID with type 0x04,
        // then timestamp, then Ed25519 over the cosignature/v1 message.
        let witness = Cosigner::from_seed("witness.example.com/w1", &[2; 32]).unwrap();
        let checkpoint = checkpoint();
        let line = witness.cosign(&checkpoint, 1679315147).unwrap().line();
        let encoded = line.strip_prefix("\u{2014} witness.example.com/w1 ").unwrap().strip_suffix('\n').unwrap();
        let bytes = STANDARD.decode(encoded).unwrap();
        assert_eq!(bytes.len(), 4 + 8 + 64);
        let mut id_input = b"witness.example.com/w1\n\x04".to_vec();
        id_input.extend_from_slice(witness.public_key());
        assert_eq!(bytes[..4], Sha256::digest(&id_input)[..4]);
        assert_eq!(bytes[4..12], 1679315147u64.to_be_bytes());
        let message = format!(
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n{}\n",
            crate::merkle::hash_to_base64(checkpoint.root())
        );
        UnparsedPublicKey::new(&ED25519, witness.public_key()).verify(message.as_bytes(), &bytes[12..]).unwrap();
        // The vkey carries type 0x04 and round-trips.
        let vkey = witness.verifier().vkey();
        let (prefix, key) = vkey.rsplit_once('+').unwrap();
        assert_eq!(prefix, format!("witness.example.com/w1+{:08x}", witness.key_id()));
        let key = STANDARD.decode(key).unwrap();
        assert_eq!((key[0], &key[1..]), (0x04, witness.public_key().as_slice()));
        assert_eq!(Verifier::parse(&vkey).unwrap(), witness.verifier());
        assert_eq!(Cosigner::parse(&witness.signer_key()).unwrap().verifier(), witness.verifier());
    }

    #[test]
    fn bad_cosignatures_are_refused() {
        let log = Signer::from_seed("example.com/behind-the-sofa", &[1; 32]).unwrap();
        let witness = Cosigner::from_seed("witness.example.com/w1", &[2; 32]).unwrap();
        let checkpoint = checkpoint();
        let good = witness.cosign(&checkpoint, 1000).unwrap();
        let known = [log.verifier(), witness.verifier()];
        for at in 0..good.signature().len() {
            let mut bytes = good.signature().to_vec();
            bytes[at] ^= 1;
            let mut note = checkpoint.sign(&log).unwrap();
            note.add_signature(NoteSignature::new(witness.name(), witness.key_id(), bytes).unwrap()).unwrap();
            assert!(matches!(Note::open(&note.to_bytes(), &known), Err(Error::InvalidSignature { .. })), "{at}");
        }
        // A log signature is no cosignature, and the same seed as a log key is
        // another key ID: the signature is by an unknown key.
        let same_seed_log = Signer::from_seed("witness.example.com/w1", &[2; 32]).unwrap();
        assert_ne!(same_seed_log.key_id(), witness.key_id());
        let mut note = Note::new(checkpoint.to_text()).unwrap();
        note.add_signature(same_seed_log.sign(&checkpoint.to_text()).unwrap()).unwrap();
        assert_eq!(Note::open(&note.to_bytes(), &[witness.verifier()]), Err(Error::NoVerifiedSignature));
        // Truncated bytes, and a timestamp past 2^63 - 1.
        for bytes in [vec![0u8; 8], good.signature()[..71].to_vec()] {
            assert!(verify(witness.public_key(), &checkpoint.to_text(), &bytes).is_none());
        }
        assert_eq!(witness.cosign(&checkpoint, MAX_TIMESTAMP + 1), Err(Error::InvalidTimestamp(MAX_TIMESTAMP + 1)));
        assert!(witness.cosign(&checkpoint, MAX_TIMESTAMP).is_ok());
        let mut late = good.signature().to_vec();
        late[..8].copy_from_slice(&u64::MAX.to_be_bytes());
        assert!(verify(witness.public_key(), &checkpoint.to_text(), &late).is_none());
    }
}
