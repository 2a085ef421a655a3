//! The project page's verification section, in plain words: the project's
//! chain head, whether its latest record is in the transparency log's
//! latest signed checkpoint (and at which leaf), and how anyone can check
//! all of it without an account.

use chrono::{DateTime, Duration, Utc};
use gongkai_store::{PublicReader, StoredCheckpoint};
use gongkai_tlog::checkpoint::Checkpoint;
use gongkai_tlog::note::Note;

use crate::text::Lang;

/// How soon a page that says "not in a checkpoint yet" is drawn again: the
/// log signs about every second.
const NOT_YET_HOLDS: Duration = Duration::seconds(5);

/// What the page says about the log, sentence by sentence.
#[derive(Debug, Default)]
pub(crate) struct LogStatus {
    /// Whether the project's latest record is in the latest checkpoint.
    pub(crate) included: bool,
    /// Sentences, in the page's language.
    pub(crate) lines: Vec<String>,
}

/// The log status of project `code`, whose latest record is `head_seq`, and
/// until when it holds (a page that waits for a checkpoint is drawn again
/// soon). A store that cannot say is shown as not yet logged.
pub(crate) async fn log_status(
    store: &PublicReader,
    lang: Lang,
    code: &str,
    head_seq: u64,
    now: DateTime<Utc>,
) -> (LogStatus, Option<DateTime<Utc>>) {
    let leaf = store.logged_leaf(code, head_seq).await.unwrap_or_else(|error| {
        tracing::warn!(%error, "Site could not read the transparency log.");
        None
    });
    let checkpoint = store.latest_checkpoint().await.ok().flatten();
    let status = describe(lang, leaf, checkpoint.as_ref());
    let holds_until = (!status.included).then(|| now + NOT_YET_HOLDS);
    (status, holds_until)
}

fn describe(lang: Lang, leaf: Option<u64>, checkpoint: Option<&StoredCheckpoint>) -> LogStatus {
    let mut lines = Vec::new();
    let included = match (leaf, checkpoint) {
        (Some(leaf), Some(checkpoint)) if leaf < checkpoint.tree_size => {
            let origin = origin(checkpoint).unwrap_or_default();
            let root = hex::encode(checkpoint.root_hash);
            lines.push(match lang {
                Lang::Zh => format!(
                    "本项目最新一条记录是公开透明日志的第 {} 条，已包含在最新的日志检查点中：{origin} 签名，共 {} 条记录，根哈希 {root}。",
                    leaf + 1,
                    checkpoint.tree_size
                ),
                Lang::En => format!(
                    "The project's latest record is entry {} of the public transparency log, included in its latest checkpoint: signed by {origin}, {} records, root hash {root}.",
                    leaf + 1,
                    checkpoint.tree_size
                ),
            });
            true
        }
        _ => {
            lines.push(
                lang.pick(
                    "本项目最新一条记录尚未纳入公开透明日志的检查点，通常几秒钟内纳入。",
                    "The project's latest record is not in a checkpoint of the public transparency log yet; it usually is within seconds.",
                )
                .to_owned(),
            );
            false
        }
    };
    lines.push(
        lang.pick(
            "任何人无需账号即可核验：运行 gongkai verify --site 加本网站地址。它只用本网站公开的内容，重新计算每个项目的哈希链；核对后来公开的内容（如评标委员会名单）与登记时作出的承诺一致；核对日志检查点的签名，以及日志相对于上次核验时只增未改。",
            "Anyone can check this without an account: run gongkai verify --site with this website's address. Using only what this website publishes, it recomputes every project's hash chain, checks that what was made public later (such as an evaluation committee) is what was committed to when it was recorded, and checks the checkpoint's signature and that the log only grew since the last check.",
        )
        .to_owned(),
    );
    LogStatus { included, lines }
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
            signed_at: Utc::now(),
        }
    }

    #[test]
    fn a_logged_record_names_its_entry_and_the_checkpoint() {
        let status = describe(Lang::Zh, Some(41), Some(&checkpoint(58)));
        assert!(status.included);
        assert!(
            status.lines[0].contains("第 42 条") && status.lines[0].contains("gongkai.test/log"),
            "{:?}",
            status.lines
        );
        assert!(status.lines[0].contains("共 58 条记录") && status.lines[0].contains(&hex::encode([2; 32])));
        assert!(status.lines[1].contains("gongkai verify --site"));
    }

    #[test]
    fn a_record_beyond_the_checkpoint_or_unlogged_says_not_yet() {
        for (leaf, checkpoint) in [(Some(58), Some(checkpoint(58))), (None, Some(checkpoint(58))), (Some(3), None)] {
            let status = describe(Lang::En, leaf, checkpoint.as_ref());
            assert!(!status.included);
            assert!(status.lines[0].contains("not in a checkpoint"), "{:?}", status.lines);
        }
    }
}
