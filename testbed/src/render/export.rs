//! A run written to a file, in any of the forms: what `testbed run --out FILE` and the
//! dashboard's `e` share. Text forms are the same bytes as on standard output; pcap is
//! [`super::pcap::pcap`] at the scenario's start time.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use proto::trace::Proto;

use crate::run::Run;
use crate::world::Description;

/// A form a run can be exported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// [`super::text`].
    Text,
    /// [`super::review`].
    Review,
    /// [`super::json`].
    Json,
    /// [`super::mermaid`].
    Mermaid,
    /// [`super::pcap::pcap`]: binary (pcapng).
    Pcap,
}

impl Form {
    /// The file extension the form is written with.
    pub fn extension(self) -> &'static str {
        match self {
            Form::Text | Form::Review => "txt",
            Form::Json => "json",
            Form::Mermaid => "mmd",
            Form::Pcap => "pcapng",
        }
    }

    /// Whether the form is binary (never written to a terminal or standard output).
    pub fn binary(self) -> bool {
        self == Form::Pcap
    }
}

/// The run in `form`, as the file's bytes (text forms end with a newline).
pub fn bytes(run: &Run, form: Form) -> anyhow::Result<Vec<u8>> {
    let text = match form {
        Form::Text => super::text(run),
        Form::Review => super::review(run),
        Form::Json => super::json(run),
        Form::Mermaid => super::mermaid(run),
        Form::Pcap => {
            let start = Description::load()
                .and_then(|d| d.start_time())
                .context("the scenario start time (fixtures/world.toml)")?;
            return super::pcap::pcap(run, start);
        }
    };
    Ok(format!("{text}\n").into_bytes())
}

/// Where the run of `variant` (`2:single`) goes when `out` is named: `out` itself for a lone
/// run, else `out` with `-<solution>-<variant>` before its extension (`calls.pcapng` →
/// `calls-2-single.pcapng`), so several variants never overwrite one another.
pub fn path(out: &Path, variant: &str, several: bool) -> PathBuf {
    if !several {
        return out.to_path_buf();
    }
    let tag = variant.replace(':', "-");
    let stem = out
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let name = match out.extension() {
        Some(ext) => format!("{stem}-{tag}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{tag}"),
    };
    out.with_file_name(name)
}

/// Writes the run in `form` to `path` (says which file could not be written) and says what
/// it wrote: `written to calls.pcapng (80 SIP, 120 DNS, 22 HTTP messages)`.
pub fn write(run: &Run, form: Form, path: &Path) -> anyhow::Result<String> {
    let data = bytes(run, form)?;
    std::fs::write(path, &data).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(match form {
        Form::Pcap => {
            let count = |p: Proto| {
                super::pcap::packets(run)
                    .iter()
                    .filter(|k| k.message.proto == p)
                    .count()
            };
            format!(
                "written to {} ({} SIP, {} DNS, {} HTTP messages; data channels left out)",
                path.display(),
                count(Proto::Sip),
                count(Proto::Dns),
                count(Proto::Http)
            )
        }
        _ => format!("written to {} ({} bytes)", path.display(), data.len()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_variants_get_one_file_each() {
        let out = Path::new("/tmp/calls.pcapng");
        assert_eq!(path(out, "2:single", false), out);
        assert_eq!(
            path(out, "2:single", true),
            Path::new("/tmp/calls-2-single.pcapng")
        );
        assert_eq!(
            path(Path::new("trace"), "4:authenticate", true),
            Path::new("trace-4-authenticate")
        );
    }
}
