//! Checkpoints (c2sp.org/tlog-checkpoint): the signed tree head of a log, a
//! note whose text is
//!
//! ```text
//! <origin>
//! <tree size, decimal, no leading zeros>
//! <root hash, base64>
//! [<extension line>…]
//! ```
//!
//! each line ending in a newline. Formatting and parsing are exact inverses:
//! [`Checkpoint::parse`] accepts only what [`Checkpoint::to_text`] writes, so a
//! parsed checkpoint's text is byte for byte the signed one.

use std::fmt;

use crate::merkle::{Hash, hash_from_base64, hash_to_base64};
use crate::note::{Note, Signer, VerifiedSignature, Verifier};
use crate::{Error, parse_decimal};

/// A checkpoint body.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

/// A line of a checkpoint: non-empty, no control characters (newline included).
fn check_line(line: &str, what: &'static str) -> Result<(), Error> {
    if line.is_empty() || line.chars().any(|c| c < ' ') {
        return Err(Error::MalformedCheckpoint(what));
    }
    Ok(())
}

impl Checkpoint {
    /// The checkpoint of the tree of `size` leaves with `root`, of the log
    /// `origin` (non-empty, one line, no control characters).
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Self, Error> {
        check_line(origin, "origin is empty or has a control character")?;
        Ok(Self { origin: origin.to_string(), size, root, extensions: Vec::new() })
    }

    /// Adds an extension line (non-empty, no control characters). The spec
    /// advises against them: monitors cannot audit them.
    pub fn with_extension(mut self, line: &str) -> Result<Self, Error> {
        check_line(line, "extension line is empty or has a control character")?;
        self.extensions.push(line.to_string());
        Ok(self)
    }

    /// The log's origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tree's root hash.
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// The extension lines, without newlines.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The note text: the lines, each ending in a newline.
    pub fn to_text(&self) -> String {
        let mut text = format!("{}\n{}\n{}\n", self.origin, self.size, hash_to_base64(&self.root));
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Parses note text as a checkpoint: at least three lines, each ending in
    /// a newline and non-empty, with no control characters; a decimal size
    /// with no sign and no leading zeros that fits 64 bits; a root that is
    /// the canonical base64 of 32 bytes.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let body = text.strip_suffix('\n').ok_or(Error::MalformedCheckpoint("does not end with a newline"))?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next()) else {
            return Err(Error::MalformedCheckpoint("fewer than three lines"));
        };
        check_line(origin, "origin is empty or has a control character")?;
        let size = parse_decimal(size).ok_or(Error::MalformedCheckpoint("size is not a decimal number"))?;
        let root = hash_from_base64(root).map_err(|_| Error::MalformedCheckpoint("root is not base64 of 32 bytes"))?;
        let mut checkpoint = Self::new(origin, size, root)?;
        for line in lines {
            checkpoint = checkpoint.with_extension(line)?;
        }
        Ok(checkpoint)
    }

    /// The checkpoint as a note signed by the log's key.
    pub fn sign(&self, signer: &Signer) -> Result<Note, Error> {
        let text = self.to_text();
        let signature = signer.sign(&text)?;
        let mut note = Note::new(text)?;
        note.add_signature(signature)?;
        Ok(note)
    }

    /// Opens a signed checkpoint against known keys (see [`Note::open`]) and
    /// parses its text. Which keys must have signed (the log's, a quorum of
    /// witnesses) is the caller's policy, on [`OpenedCheckpoint::verified`].
    pub fn open(message: &[u8], known: &[Verifier]) -> Result<OpenedCheckpoint, Error> {
        let note = Note::parse(message)?;
        let checkpoint = Self::parse(note.text())?;
        let verified = note.verify(known)?;
        Ok(OpenedCheckpoint { checkpoint, note, verified })
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// A signed checkpoint whose signatures by known keys verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedCheckpoint {
    /// The checkpoint body.
    pub checkpoint: Checkpoint,
    /// The note, with every signature line (known keys or not).
    pub note: Note,
    /// The signatures by known keys, each key once.
    pub verified: Vec<VerifiedSignature>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{EMPTY_ROOT, leaf_hash};

    #[test]
    fn round_trips() {
        let root = leaf_hash(b"root");
        let cases = [
            Checkpoint::new("example.com/behind-the-sofa", 20852163, root).unwrap(),
            Checkpoint::new("gongkai.example.cn/log", 0, EMPTY_ROOT).unwrap(),
            Checkpoint::new("o", u64::MAX, root).unwrap(),
            Checkpoint::new("公开 log", 1, root)
                .unwrap()
                .with_extension("ext one")
                .unwrap()
                .with_extension("2")
                .unwrap(),
        ];
        for checkpoint in cases {
            let text = checkpoint.to_text();
            assert_eq!(Checkpoint::parse(&text).unwrap(), checkpoint);
            assert_eq!(checkpoint.to_string(), text);
        }
        let spec = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let parsed = Checkpoint::parse(spec).unwrap();
        assert_eq!(parsed.size(), 20852163);
        assert_eq!(parsed.origin(), "example.com/behind-the-sofa");
        assert_eq!(parsed.to_text(), spec);
    }

    #[test]
    fn malformed_checkpoints_are_refused() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        let bad = [
            String::new(),
            "\n".into(),
            format!("o\n1\n{root}"),
            "o\n1\n".into(),
            format!("o\n1\n{root}\n\n"),
            format!("o\n1\n{root}\n\next\n"),
            format!("\n1\n{root}\n"),
            format!("o\n\n{root}\n"),
            format!("o\n01\n{root}\n"),
            format!("o\n+1\n{root}\n"),
            format!("o\n-1\n{root}\n"),
            format!("o\n 1\n{root}\n"),
            format!("o\n1 \n{root}\n"),
            format!("o\n1.0\n{root}\n"),
            format!("o\n0x10\n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            format!("o\n99999999999999999999999\n{root}\n"),
            format!("o\n١\n{root}\n"),
            format!("o\n1\n{}\n", &root[..43]),
            format!("o\n1\n{root}=\n"),
            format!("o\n1\n {root}\n"),
            format!("o\n1\n{}\n", root.replace('=', "")),
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n".into(),
            format!("o\n1\n{}\n", "A".repeat(44)),
            format!("o\r\n1\n{root}\n"),
            format!("o\t\n1\n{root}\n"),
            format!("o\n1\n{root}\nbad\u{7}ext\n"),
        ];
        for text in &bad {
            assert!(Checkpoint::parse(text).is_err(), "{text:?}");
        }
        assert!(Checkpoint::new("", 1, EMPTY_ROOT).is_err());
        assert!(Checkpoint::new("a\nb", 1, EMPTY_ROOT).is_err());
        assert!(Checkpoint::new("o", 1, EMPTY_ROOT).unwrap().with_extension("").is_err());
    }

    #[test]
    fn signed_checkpoints_open() {
        let log = Signer::from_seed("example.com/log", &[5; 32]).unwrap();
        let checkpoint = Checkpoint::new("example.com/log", 42, leaf_hash(b"r")).unwrap();
        let note = checkpoint.sign(&log).unwrap();
        let opened = Checkpoint::open(&note.to_bytes(), &[log.verifier()]).unwrap();
        assert_eq!(opened.checkpoint, checkpoint);
        assert_eq!(opened.note, note);
        assert_eq!(opened.verified.len(), 1);
        // A signed note that is no checkpoint.
        let mut other = Note::new("hello\n").unwrap();
        other.add_signature(log.sign("hello\n").unwrap()).unwrap();
        assert!(matches!(Checkpoint::open(&other.to_bytes(), &[log.verifier()]), Err(Error::MalformedCheckpoint(_))));
        // A tampered size.
        let tampered = String::from_utf8(note.to_bytes()).unwrap().replace("\n42\n", "\n43\n");
        assert!(matches!(
            Checkpoint::open(tampered.as_bytes(), &[log.verifier()]),
            Err(Error::InvalidSignature { .. })
        ));
    }
}
