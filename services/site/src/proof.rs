//! The project page's verification section, in plain words: the project's
//! chain head, which signed checkpoint of the transparency log includes its
//! latest record (and at which leaf), and how anyone can check all of it
//! without an account.
//!
//! The section names the first checkpoint signed over the record, not the
//! latest one: a record once included stays included in that checkpoint,
//! so the page's bytes (and its entity tag) do not change each time the log
//! grows, on any replica, however often the page is drawn again. A page
//! whose record waits for a checkpoint says so and is kept only until the
//! log signs a larger one (see `cache`).

use gongkai_store::{LoggedRecord, PublicReader, StoredCheckpoint};
use gongkai_tlog::checkpoint::Checkpoint;
use gongkai_tlog::note::Note;

use crate::text::{Lang, when};

/// Where the project's latest record stands in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Logged {
    /// In a signed checkpoint: the page holds until the project changes.
    Included,
    /// Not in a checkpoint yet: the page holds until the log signs a
    /// larger one.
    Waiting,
    /// The store could not say: shown as waiting, and not kept.
    Unknown,
}

/// What the page says about the log, sentence by sentence.
#[derive(Debug)]
pub(crate) struct LogStatus {
    pub(crate) logged: Logged,
    /// Sentences, in the page's language.
    pub(crate) lines: Vec<String>,
}

/// The log status of project `code`, whose latest record is `head_seq`.
pub(crate) async fn log_status(store: &PublicReader, lang: Lang, code: &str, head_seq: u64) -> LogStatus {
    match store.logged_record(code, head_seq).await {
        Ok(record) => describe(lang, record.as_ref()),
        Err(error) => {
            tracing::warn!(%error, "Site could not read the transparency log.");
            LogStatus { logged: Logged::Unknown, ..describe(lang, None) }
        }
    }
}

fn describe(lang: Lang, record: Option<&LoggedRecord>) -> LogStatus {
    let mut lines = Vec::new();
    let logged = match record.and_then(|record| Some((record.leaf_index, record.checkpoint.as_ref()?))) {
        Some((leaf, checkpoint)) => {
            let origin = origin(checkpoint).unwrap_or_default();
            let root = hex::encode(checkpoint.root_hash);
            let size = checkpoint.tree_size;
            let signed = when(checkpoint.signed_at);
            lines.push(match lang {
                Lang::Zh => format!(
                    "本项目最新一条记录是公开透明日志的第 {} 条，已包含在共 {size} 条记录的日志检查点中：{origin} 于 {signed} 签名，根哈希 {root}。",
                    leaf + 1
                ),
                Lang::En => format!(
                    "The project's latest record is entry {} of the public transparency log, included in the checkpoint of {size} records signed by {origin} on {signed}, root hash {root}.",
                    leaf + 1
                ),
            });
            Logged::Included
        }
        None => {
            lines.push(
                lang.pick(
                    "本项目最新一条记录尚未纳入公开透明日志的检查点，通常几秒钟内纳入。",
                    "The project's latest record is not in a checkpoint of the public transparency log yet; it usually is within seconds.",
                )
                .to_owned(),
            );
            Logged::Waiting
        }
    };
    lines.push(
        lang.pick(
            "任何人无需账号即可核验：运行 gongkai verify --site 加本网站地址。它只用本网站公开的内容，重新计算每个项目的哈希链；核对后来公开的内容（如评标委员会名单）与登记时作出的承诺一致；核对日志检查点的签名，以及日志相对于上次核验时只增未改。",
            "Anyone can check this without an account: run gongkai verify --site with this website's address. Using only what this website publishes, it recomputes every project's hash chain, checks that what was made public later (such as an evaluation committee) is what was committed to when it was recorded, and checks the checkpoint's signature and that the log only grew since the last check.",
        )
        .to_owned(),
    );
    LogStatus { logged, lines }
}

/// The log's name, from the checkpoint's signed note.
fn origin(checkpoint: &StoredCheckpoint) -> Option<String> {
    let note = Note::parse(checkpoint.note.as_bytes()).ok()?;
    Some(Checkpoint::parse(note.text()).ok()?.origin().to_owned())
}

#[cfg(test)]
mod tests {
    use gongkai_tlog::note::Signer;

    use super::*;

    fn checkpoint(size: u64) -> StoredCheckpoint {
        let signer = Signer::from_seed("gongkai.test/log", &[1; 32]).expect("a key");
        let note =
            Checkpoint::new("gongkai.test/log", size, [2; 32]).expect("a checkpoint").sign(&signer).expect("signed");
        StoredCheckpoint {
            tree_size: size,
            root_hash: [2; 32],
            note: String::from_utf8(note.to_bytes()).expect("UTF-8"),
            signed_at: "2024-05-01T02:03:04Z".parse().expect("a time"),
        }
    }

    #[test]
    fn a_logged_record_names_its_entry_and_the_checkpoint_that_includes_it() {
        let record = LoggedRecord { leaf_index: 41, checkpoint: Some(checkpoint(58)) };
        let status = describe(Lang::Zh, Some(&record));
        assert_eq!(status.logged, Logged::Included);
        assert!(
            status.lines[0].contains("第 42 条") && status.lines[0].contains("gongkai.test/log"),
            "{:?}",
            status.lines
        );
        assert!(
            status.lines[0].contains("已包含在共 58 条记录的日志检查点中")
                && status.lines[0].contains("于 2024-05-01 10:03 签名")
                && status.lines[0].contains(&hex::encode([2; 32])),
            "{:?}",
            status.lines
        );
        assert!(!status.lines[0].contains("最新的日志检查点"), "names no moving checkpoint: {:?}", status.lines);
        assert!(status.lines[1].contains("gongkai verify --site"));
        let status = describe(Lang::En, Some(&record));
        assert!(
            status.lines[0].contains(
                "entry 42 of the public transparency log, included in the checkpoint of 58 records signed by \
                 gongkai.test/log on 2024-05-01 10:03"
            ),
            "{:?}",
            status.lines
        );
    }

    #[test]
    fn an_unlogged_record_or_one_beyond_every_checkpoint_says_not_yet() {
        for record in [None, Some(LoggedRecord { leaf_index: 58, checkpoint: None })] {
            let status = describe(Lang::En, record.as_ref());
            assert_eq!(status.logged, Logged::Waiting);
            assert!(status.lines[0].contains("not in a checkpoint"), "{:?}", status.lines);
        }
    }
}
