//! Signed notes (c2sp.org/signed-note): a text ending in a newline, a blank
//! line, and signature lines `— <key name> <base64(key ID || signature)>`.
//!
//! Keys are Ed25519 and named; a key's ID is the first four bytes of
//! SHA-256(name || 0x0A || signature type || public key). Their text forms are
//! those Go's `golang.org/x/mod/sumdb/note.GenerateKey` writes:
//!
//! - verifier key (vkey): `<name>+<key ID, 8 hex digits>+<base64(type || public key)>`;
//! - signer key: `PRIVATE+KEY+<name>+<key ID>+<base64(type || 32-byte seed)>`.
//!
//! Two signature types are implemented: 0x01, Ed25519 over the note text
//! ([`Signer`]), and 0x04, a witness's timestamped checkpoint cosignature
//! ([`crate::cosignature::Cosigner`]). A [`Verifier`] verifies either, so a
//! checkpoint's log signature and its cosignatures open together.
//!
//! [`Note::open`] follows the spec: signatures by unknown keys are kept but
//! not checked, every signature by a known key must verify (else the whole
//! note is refused), and at least one must; at most [`MAX_SIGNATURES`].

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::cosignature;

/// The most signatures a note may carry, as Go's `note.Open` allows; the
/// spec asks verifiers to accept at least 16.
pub const MAX_SIGNATURES: usize = 100;

const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// The signature types this crate signs and verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyType {
    /// 0x01: Ed25519 over the note text.
    Ed25519,
    /// 0x04: c2sp.org/tlog-cosignature `cosignature/v1`, a timestamped
    /// Ed25519 signature of a checkpoint.
    Cosignature,
}

impl KeyType {
    /// The signature type identifier byte.
    pub fn byte(self) -> u8 {
        match self {
            KeyType::Ed25519 => 0x01,
            KeyType::Cosignature => 0x04,
        }
    }

    /// The type with this identifier byte, if implemented.
    pub fn from_byte(byte: u8) -> Result<Self, Error> {
        match byte {
            0x01 => Ok(KeyType::Ed25519),
            0x04 => Ok(KeyType::Cosignature),
            other => Err(Error::UnsupportedKeyType(other)),
        }
    }
}

/// Whether `name` may name a key: non-empty, with no Unicode space and no
/// plus.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

fn check_key_name(name: &str) -> Result<(), Error> {
    if is_valid_key_name(name) { Ok(()) } else { Err(Error::InvalidKeyName) }
}

/// A key's ID: `SHA-256(name || 0x0A || type || public key)[:4]`, big-endian.
pub fn key_id(name: &str, key_type: KeyType, public_key: &[u8; 32]) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([b'\n', key_type.byte()]);
    hasher.update(public_key);
    let digest = hasher.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Eight lowercase hex digits, as key strings write key IDs.
fn parse_key_id(text: &str) -> Result<u32, Error> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(Error::MalformedKey("key ID is not 8 lowercase hex digits"));
    }
    u32::from_str_radix(text, 16).map_err(|_| Error::MalformedKey("key ID is not 8 lowercase hex digits"))
}

/// `type || 32 bytes` in base64: the type and the key material.
fn parse_typed_key(text: &str) -> Result<(KeyType, [u8; 32]), Error> {
    let bytes = STANDARD.decode(text).map_err(|_| Error::MalformedKey("key is not base64"))?;
    let Some((byte, key)) = bytes.split_first() else {
        return Err(Error::MalformedKey("key is empty"));
    };
    let key_type = KeyType::from_byte(*byte)?;
    let key = <[u8; 32]>::try_from(key).map_err(|_| Error::MalformedKey("key material is not 32 bytes"))?;
    Ok((key_type, key))
}

fn typed_key_base64(key_type: KeyType, key: &[u8; 32]) -> String {
    let mut bytes = Vec::with_capacity(33);
    bytes.push(key_type.byte());
    bytes.extend_from_slice(key);
    STANDARD.encode(bytes)
}

/// Checks note text: valid UTF-8 (a `str`), ending in a newline, with no
/// control characters other than newline.
fn check_text(text: &str) -> Result<(), Error> {
    if !text.ends_with('\n') {
        return Err(Error::MalformedNote("text does not end with a newline"));
    }
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(Error::MalformedNote("control character"));
    }
    Ok(())
}

/// A known public key: what a verifier trusts.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Verifier {
    name: String,
    key_id: u32,
    key_type: KeyType,
    public_key: [u8; 32],
}

impl Verifier {
    /// The verifier of an Ed25519 public key of this type under this name.
    pub fn new(name: &str, key_type: KeyType, public_key: [u8; 32]) -> Result<Self, Error> {
        check_key_name(name)?;
        Ok(Self { name: name.to_string(), key_id: key_id(name, key_type, &public_key), key_type, public_key })
    }

    /// Parses a verifier key, `<name>+<key ID>+<base64(type || public key)>`;
    /// the key ID must be the one the name and key imply.
    pub fn parse(vkey: &str) -> Result<Self, Error> {
        // The name has no plus; base64 may.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Error::MalformedKey("a verifier key is name+id+key"));
        };
        check_key_name(name)?;
        let id = parse_key_id(id)?;
        let (key_type, public_key) = parse_typed_key(key)?;
        let verifier = Self::new(name, key_type, public_key)?;
        if verifier.key_id != id {
            return Err(Error::KeyIdMismatch);
        }
        Ok(verifier)
    }

    /// The verifier key string.
    pub fn vkey(&self) -> String {
        format!("{}+{:08x}+{}", self.name, self.key_id, typed_key_base64(self.key_type, &self.public_key))
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key's ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The key's signature type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }

    /// Verifies one signature of note `text` by this key (a signature by
    /// another name or key ID is refused); the cosignature's timestamp comes
    /// back for cosignature keys.
    pub fn verify(&self, text: &str, signature: &NoteSignature) -> Result<VerifiedSignature, Error> {
        let invalid = || Error::InvalidSignature { name: signature.name.clone(), key_id: signature.key_id };
        if signature.name != self.name || signature.key_id != self.key_id {
            return Err(invalid());
        }
        let timestamp = match self.key_type {
            KeyType::Ed25519 => {
                if !verify_ed25519(&self.public_key, text.as_bytes(), &signature.signature) {
                    return Err(invalid());
                }
                None
            }
            KeyType::Cosignature => {
                Some(cosignature::verify(&self.public_key, text, &signature.signature).ok_or_else(invalid)?)
            }
        };
        Ok(VerifiedSignature { name: self.name.clone(), key_id: self.key_id, key_type: self.key_type, timestamp })
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Verifier").field(&self.vkey()).finish()
    }
}

impl fmt::Display for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.vkey())
    }
}

impl FromStr for Verifier {
    type Err = Error;

    fn from_str(vkey: &str) -> Result<Self, Error> {
        Self::parse(vkey)
    }
}

pub(crate) fn verify_ed25519(public_key: &[u8; 32], message: &[u8], signature: &[u8]) -> bool {
    signature.len() == 64 && UnparsedPublicKey::new(&ED25519, public_key).verify(message, signature).is_ok()
}

/// A named Ed25519 key pair of some signature type; [`Signer`] and
/// [`crate::cosignature::Cosigner`] are this with a fixed type.
pub(crate) struct KeyPair {
    name: String,
    key_id: u32,
    key_type: KeyType,
    seed: [u8; 32],
    pair: Ed25519KeyPair,
    public_key: [u8; 32],
}

impl KeyPair {
    pub(crate) fn from_seed(name: &str, key_type: KeyType, seed: &[u8; 32]) -> Result<Self, Error> {
        check_key_name(name)?;
        let pair = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| Error::MalformedKey("not an Ed25519 seed"))?;
        let public_key = <[u8; 32]>::try_from(pair.public_key().as_ref())
            .map_err(|_| Error::MalformedKey("not an Ed25519 public key"))?;
        Ok(Self {
            name: name.to_string(),
            key_id: key_id(name, key_type, &public_key),
            key_type,
            seed: *seed,
            pair,
            public_key,
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<key ID>+<base64(type || seed)>` of the
    /// given type.
    pub(crate) fn parse(skey: &str, key_type: KeyType) -> Result<Self, Error> {
        let mut parts = skey.splitn(5, '+');
        let (Some("PRIVATE"), Some("KEY"), Some(name), Some(id), Some(key)) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::MalformedKey("a signer key is PRIVATE+KEY+name+id+key"));
        };
        check_key_name(name)?;
        let id = parse_key_id(id)?;
        let (found, seed) = parse_typed_key(key)?;
        if found != key_type {
            return Err(Error::MalformedKey("a signer key of another signature type"));
        }
        // The ID is of the public key, known only once derived from the seed.
        let pair = Self::from_seed(name, key_type, &seed)?;
        if pair.key_id != id {
            return Err(Error::KeyIdMismatch);
        }
        Ok(pair)
    }

    pub(crate) fn signer_key(&self) -> String {
        format!("PRIVATE+KEY+{}+{:08x}+{}", self.name, self.key_id, typed_key_base64(self.key_type, &self.seed))
    }

    pub(crate) fn verifier(&self) -> Verifier {
        Verifier { name: self.name.clone(), key_id: self.key_id, key_type: self.key_type, public_key: self.public_key }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn key_id(&self) -> u32 {
        self.key_id
    }

    pub(crate) fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }

    /// A signature line of this key over `signature`'s bytes.
    pub(crate) fn note_signature(&self, signature: Vec<u8>) -> NoteSignature {
        NoteSignature { name: self.name.clone(), key_id: self.key_id, signature }
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the seed.
        f.debug_struct("KeyPair").field("verifier", &self.verifier().vkey()).finish_non_exhaustive()
    }
}

/// A log's note signing key: Ed25519 over the note text (type 0x01).
#[derive(Debug)]
pub struct Signer {
    key: KeyPair,
}

impl Signer {
    /// The key with this name and 32-byte Ed25519 seed. This crate draws no
    /// randomness: generate the seed with a CSPRNG (e.g. ring's
    /// `SystemRandom`).
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, Error> {
        Ok(Self { key: KeyPair::from_seed(name, KeyType::Ed25519, seed)? })
    }

    /// Parses a signer key, `PRIVATE+KEY+<name>+<key ID>+<base64(0x01 || seed)>`,
    /// as Go's `note.GenerateKey` writes it.
    pub fn parse(skey: &str) -> Result<Self, Error> {
        Ok(Self { key: KeyPair::parse(skey, KeyType::Ed25519)? })
    }

    /// The signer key string: secret.
    pub fn signer_key(&self) -> String {
        self.key.signer_key()
    }

    /// The matching verifier.
    pub fn verifier(&self) -> Verifier {
        self.key.verifier()
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        self.key.name()
    }

    /// The key's ID.
    pub fn key_id(&self) -> u32 {
        self.key.key_id()
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        self.key.public_key()
    }

    /// Signs note text (which must end in a newline and have no control
    /// characters but newlines).
    pub fn sign(&self, text: &str) -> Result<NoteSignature, Error> {
        check_text(text)?;
        Ok(self.key.note_signature(self.key.sign(text.as_bytes())))
    }
}

/// One signature line of a note: the key's name and ID and the signature
/// bytes that follow the ID.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NoteSignature {
    name: String,
    key_id: u32,
    signature: Vec<u8>,
}

impl NoteSignature {
    /// A signature by the key `name`/`key_id`; `signature` must be non-empty.
    pub fn new(name: &str, key_id: u32, signature: Vec<u8>) -> Result<Self, Error> {
        check_key_name(name)?;
        if signature.is_empty() {
            return Err(Error::MalformedNote("empty signature"));
        }
        Ok(Self { name: name.to_string(), key_id, signature })
    }

    /// Parses a signature line without its newline:
    /// `— <name> <base64(key ID || signature)>`.
    pub fn parse_line(line: &str) -> Result<Self, Error> {
        let rest = line.strip_prefix(SIGNATURE_PREFIX).ok_or(Error::MalformedNote("signature line without em dash"))?;
        let (name, encoded) = rest.split_once(' ').ok_or(Error::MalformedNote("signature line without a space"))?;
        if !is_valid_key_name(name) {
            return Err(Error::MalformedNote("invalid key name in a signature line"));
        }
        let bytes = STANDARD.decode(encoded).map_err(|_| Error::MalformedNote("signature is not base64"))?;
        let Some((id, signature)) = bytes.split_first_chunk::<4>() else {
            return Err(Error::MalformedNote("signature shorter than a key ID"));
        };
        if signature.is_empty() {
            return Err(Error::MalformedNote("empty signature"));
        }
        Ok(Self { name: name.to_string(), key_id: u32::from_be_bytes(*id), signature: signature.to_vec() })
    }

    /// The signature line, with its final newline.
    pub fn line(&self) -> String {
        let mut bytes = Vec::with_capacity(4 + self.signature.len());
        bytes.extend_from_slice(&self.key_id.to_be_bytes());
        bytes.extend_from_slice(&self.signature);
        format!("{SIGNATURE_PREFIX}{} {}\n", self.name, STANDARD.encode(bytes))
    }

    /// The signing key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signing key's ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The signature bytes after the key ID.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }
}

/// A signature that verified against a known key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VerifiedSignature {
    /// The key's name.
    pub name: String,
    /// The key's ID.
    pub key_id: u32,
    /// The key's signature type.
    pub key_type: KeyType,
    /// For a cosignature, the time it states (POSIX seconds).
    pub timestamp: Option<u64>,
}

/// A note: its text and signatures, verified or not.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// An unsigned note with this text, which must end in a newline and have
    /// no control characters but newlines.
    pub fn new(text: impl Into<String>) -> Result<Self, Error> {
        let text = text.into();
        check_text(&text)?;
        Ok(Self { text, signatures: Vec::new() })
    }

    /// Parses a signed note without checking any signature: valid UTF-8, no
    /// control characters but newlines, a text ending in a newline, a blank
    /// line, then one to [`MAX_SIGNATURES`] well-formed signature lines.
    pub fn parse(message: &[u8]) -> Result<Self, Error> {
        let message = std::str::from_utf8(message).map_err(|_| Error::MalformedNote("not UTF-8"))?;
        if message.chars().any(|c| c < ' ' && c != '\n') {
            return Err(Error::MalformedNote("control character"));
        }
        // The text ends at the last blank line.
        let split = message.rfind("\n\n").ok_or(Error::MalformedNote("no blank line before the signatures"))?;
        let (text, signatures) = (&message[..=split], &message[split + 2..]);
        let lines = signatures.strip_suffix('\n').ok_or(Error::MalformedNote("no signature, or no final newline"))?;
        let mut parsed = Vec::new();
        for line in lines.split('\n') {
            if parsed.len() == MAX_SIGNATURES {
                return Err(Error::MalformedNote("more than 100 signatures"));
            }
            parsed.push(NoteSignature::parse_line(line)?);
        }
        Ok(Self { text: text.to_string(), signatures: parsed })
    }

    /// Parses a signed note and verifies it against the known keys:
    /// [`Note::parse`], then [`Note::verify`].
    pub fn open(message: &[u8], known: &[Verifier]) -> Result<(Self, Vec<VerifiedSignature>), Error> {
        let note = Self::parse(message)?;
        let verified = note.verify(known)?;
        Ok((note, verified))
    }

    /// Verifies the signatures by known keys. A signature matches a known
    /// key when both its name and its ID do; others are ignored. Every
    /// signature by a known key must verify, and at least one must. Returns
    /// the verified ones in note order, each key once.
    pub fn verify(&self, known: &[Verifier]) -> Result<Vec<VerifiedSignature>, Error> {
        let mut verified: Vec<VerifiedSignature> = Vec::new();
        for signature in &self.signatures {
            let mut matching = known.iter().filter(|v| v.name == signature.name && v.key_id == signature.key_id);
            let Some(verifier) = matching.next() else {
                continue;
            };
            if matching.any(|other| other != verifier) {
                return Err(Error::AmbiguousKey { name: signature.name.clone(), key_id: signature.key_id });
            }
            let result = verifier.verify(&self.text, signature)?;
            if !verified.iter().any(|v| v.name == result.name && v.key_id == result.key_id) {
                verified.push(result);
            }
        }
        if verified.is_empty() {
            return Err(Error::NoVerifiedSignature);
        }
        Ok(verified)
    }

    /// The note text, with its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signatures, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature, in place of any by the same key (name and ID).
    pub fn add_signature(&mut self, signature: NoteSignature) -> Result<(), Error> {
        if let Some(existing) =
            self.signatures.iter_mut().find(|s| s.name == signature.name && s.key_id == signature.key_id)
        {
            *existing = signature;
            return Ok(());
        }
        if self.signatures.len() == MAX_SIGNATURES {
            return Err(Error::MalformedNote("more than 100 signatures"));
        }
        self.signatures.push(signature);
        Ok(())
    }

    /// The signed note's bytes: text, blank line, signature lines. A note
    /// needs at least one signature to parse back.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for signature in &self.signatures {
            f.write_str(&signature.line())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEUMANN_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const NEUMANN_SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const NEUMANN_TEXT: &str =
        "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const NEUMANN_LINE: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    fn neumann_note() -> String {
        format!("{NEUMANN_TEXT}\n{NEUMANN_LINE}")
    }

    #[test]
    fn go_note_example_opens() {
        let verifier = Verifier::parse(NEUMANN_VKEY).unwrap();
        assert_eq!(verifier.name(), "PeterNeumann");
        assert_eq!(verifier.key_id(), 0xc74f20a3);
        assert_eq!(verifier.key_type(), KeyType::Ed25519);
        assert_eq!(verifier.vkey(), NEUMANN_VKEY);
        let (note, verified) = Note::open(neumann_note().as_bytes(), std::slice::from_ref(&verifier)).unwrap();
        assert_eq!(note.text(), NEUMANN_TEXT);
        assert_eq!(
            verified,
            [VerifiedSignature {
                name: "PeterNeumann".into(),
                key_id: 0xc74f20a3,
                key_type: KeyType::Ed25519,
                timestamp: None
            }]
        );
        assert_eq!(note.to_string(), neumann_note());
    }

    #[test]
    fn go_note_example_signs_identically() {
        // Ed25519 is deterministic: Go's ExampleSign output, byte for byte.
        let signer = Signer::parse(NEUMANN_SKEY).unwrap();
        assert_eq!(signer.signer_key(), NEUMANN_SKEY);
        assert_eq!(signer.verifier().vkey(), NEUMANN_VKEY);
        let mut note = Note::new(NEUMANN_TEXT).unwrap();
        note.add_signature(signer.sign(NEUMANN_TEXT).unwrap()).unwrap();
        assert_eq!(note.to_string(), neumann_note());
    }

    #[test]
    fn signed_note_spec_example_opens() {
        let verifier =
            Verifier::parse("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k").unwrap();
        let note = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
        Note::open(note.as_bytes(), &[verifier]).unwrap();
    }

    #[test]
    fn mangled_keys_are_refused() {
        // As Go's TestNewVerifier and TestNewSigner: every proper substring and
        // every single-byte change.
        for key in [NEUMANN_VKEY, NEUMANN_SKEY] {
            let parse = |text: &str| {
                if key == NEUMANN_VKEY { Verifier::parse(text).map(|_| ()) } else { Signer::parse(text).map(|_| ()) }
            };
            assert!(parse(key).is_ok());
            let bytes = key.as_bytes();
            for i in 0..=bytes.len() {
                for j in i + 1..=bytes.len() {
                    if (i, j) != (0, bytes.len()) {
                        let part = std::str::from_utf8(&bytes[i..j]).unwrap();
                        assert!(parse(part).is_err(), "{part:?}");
                    }
                }
            }
            for i in 0..bytes.len() {
                let mut changed = bytes.to_vec();
                changed[i] = changed[i].wrapping_add(1);
                if let Ok(text) = std::str::from_utf8(&changed) {
                    assert!(parse(text).is_err(), "{text:?}");
                }
            }
        }
        // A 33-byte key, an unknown type (each with its key ID adjusted), an
        // uppercase key ID, and a signer key of the cosignature type.
        assert!(Verifier::parse("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==").is_err());
        assert_eq!(
            Verifier::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
            Err(Error::UnsupportedKeyType(0x65))
        );
        assert!(Verifier::parse(&NEUMANN_VKEY.replace("c74f20a3", "C74F20A3")).is_err());
        assert!(Verifier::parse(&NEUMANN_VKEY.replace("c74f20a3", "+74f20a3")).is_err());
        let cosigner = crate::Cosigner::from_seed("w", &[7; 32]).unwrap();
        assert!(Signer::parse(&cosigner.signer_key()).is_err());
        assert!(Verifier::parse("").is_err());
        assert!(Verifier::parse("+++").is_err());
        assert!(Verifier::parse("a b+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").is_err());
    }

    #[test]
    fn sign_and_open_round_trip() {
        let log = Signer::from_seed("example.com/log", &[1; 32]).unwrap();
        let other = Signer::from_seed("example.com/other", &[2; 32]).unwrap();
        let text = "a text\n\nwith an empty line\n";
        let mut note = Note::new(text).unwrap();
        note.add_signature(other.sign(text).unwrap()).unwrap();
        note.add_signature(log.sign(text).unwrap()).unwrap();
        let bytes = note.to_bytes();
        assert_eq!(Note::parse(&bytes).unwrap(), note);
        // Unknown keys are ignored; the known one verifies.
        let (opened, verified) = Note::open(&bytes, &[log.verifier()]).unwrap();
        assert_eq!(opened.text(), text);
        assert_eq!(verified.len(), 1);
        assert_eq!(verified[0].name, "example.com/log");
        let (_, both) = Note::open(&bytes, &[log.verifier(), other.verifier()]).unwrap();
        assert_eq!(both.len(), 2);
        // No known key at all.
        let stranger = Signer::from_seed("example.com/stranger", &[3; 32]).unwrap();
        assert_eq!(Note::open(&bytes, &[stranger.verifier()]), Err(Error::NoVerifiedSignature));
        assert_eq!(Note::open(&bytes, &[]), Err(Error::NoVerifiedSignature));
        // A key with the same name but another ID, or another name and the same
        // ID, is a different key: ignored.
        let impostor = Signer::from_seed("example.com/log", &[4; 32]).unwrap();
        assert_eq!(Note::open(&bytes, &[impostor.verifier()]), Err(Error::NoVerifiedSignature));
        // Re-signing replaces the signature by the same key.
        note.add_signature(log.sign(text).unwrap()).unwrap();
        assert_eq!(note.signatures().len(), 2);
    }

    #[test]
    fn a_bad_signature_by_a_known_key_rejects_the_note() {
        let log = Signer::from_seed("example.com/log", &[1; 32]).unwrap();
        let text = "checkpoint\n";
        let good = log.sign(text).unwrap();
        for at in 0..64 {
            let mut bytes = good.signature().to_vec();
            bytes[at] ^= 0x10;
            let bad = NoteSignature::new(log.name(), log.key_id(), bytes).unwrap();
            // Alone, or after a good signature by the same key, or with another valid key.
            for signatures in [vec![bad.clone()], vec![good.clone(), bad.clone()], vec![bad.clone(), good.clone()]] {
                let note = Note { text: text.into(), signatures };
                assert!(matches!(note.verify(&[log.verifier()]), Err(Error::InvalidSignature { .. })));
            }
        }
        // A signature of another text, and one of the wrong length.
        let wrong = log.sign("another\n").unwrap();
        let note = Note { text: text.into(), signatures: vec![wrong] };
        assert!(note.verify(&[log.verifier()]).is_err());
        let short = NoteSignature::new(log.name(), log.key_id(), vec![0; 63]).unwrap();
        assert!(Note { text: text.into(), signatures: vec![short] }.verify(&[log.verifier()]).is_err());
        // Two different known keys sharing name and ID.
        let twin = Verifier { public_key: [9; 32], ..log.verifier() };
        let note = Note { text: text.into(), signatures: vec![good] };
        assert!(matches!(note.verify(&[log.verifier(), twin]), Err(Error::AmbiguousKey { .. })));
        assert!(note.verify(&[log.verifier(), log.verifier()]).is_ok());
    }

    #[test]
    fn malformed_notes_are_refused() {
        let good = neumann_note();
        let bad: Vec<String> = vec![
            String::new(),
            "\n".into(),
            "\n\n".into(),
            NEUMANN_TEXT.into(),
            format!("{NEUMANN_TEXT}\n"),
            good.trim_end().into(),
            format!("{good}\n"),
            good.replace('\u{2014}', "-"),
            good.replace("\u{2014} ", "\u{2014}"),
            good.replace("PeterNeumann ", "PeterNeumann  "),
            good.replace("PeterNeumann ", "Peter+Neumann "),
            good.replace("PeterNeumann ", "Peter\u{a0}Neumann "),
            good.replace("PeterNeumann ", " "),
            good.replace("PeterNeumann x08g", "PeterNeumann x08"),
            good.replace("AM=\n", "AM\n"),
            good.replace("AM=\n", "AM= \n"),
            good.replace("\n\u{2014}", "\r\n\u{2014}"),
            good.replace("problem,", "problem,\t"),
            good.replace("problem,", "problem,\u{0}"),
            good.replace(
                "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
                "AAAAAA==",
            ),
            format!("{NEUMANN_TEXT}\n\u{2014} PeterNeumann \n"),
            format!("{NEUMANN_TEXT}\n\u{2014} PeterNeumann\n"),
            format!("{NEUMANN_TEXT}\n{}", NEUMANN_LINE.repeat(101)),
        ];
        for message in &bad {
            assert!(Note::parse(message.as_bytes()).is_err(), "{message:?}");
        }
        // 100 signatures are fine.
        assert!(Note::parse(format!("{NEUMANN_TEXT}\n{}", NEUMANN_LINE.repeat(100)).as_bytes()).is_ok());
        // Invalid UTF-8 and stray bytes anywhere.
        let mut bytes = good.clone().into_bytes();
        bytes[3] = 0xff;
        assert!(Note::parse(&bytes).is_err());
        assert!(Note::parse(&[0xe2, 0x80]).is_err());
        for text in ["no newline", "tab\there\n", "\u{1b}[0m\n"] {
            assert!(Note::new(text).is_err());
        }
    }

    #[test]
    fn key_names() {
        for good in ["a", "example.com/log", "例子.中国/日志", "oid/1.2.3"] {
            assert!(is_valid_key_name(good), "{good}");
        }
        for bad in ["", "a b", "a+b", "a\tb", "a\u{3000}b", "a\u{2028}b", "a\nb"] {
            assert!(!is_valid_key_name(bad), "{bad:?}");
            assert!(Signer::from_seed(bad, &[0; 32]).is_err());
        }
    }
}
