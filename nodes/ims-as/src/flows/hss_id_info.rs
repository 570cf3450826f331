//! Solution 1 (§6.1.2 steps 3–6): the 3P ID information from the HSS, or from the repository
//! whose URI the HSS returns, presented as `rcd` claims inside the `shaken` PASSporT (choice
//! `6.1-passport`). An IMPU not subscribed to 3P ID information presents none: whatever the
//! INVITE names is ignored.

use std::sync::Arc;

use kit::http::BoxFuture;
use proto::sip::Request;
use proto::tn::digits;
use proto::trace::{Act, Reason};
use proto::wire::sh::{self, IdInfo, IdInfoAnswer};

use super::{Flow, Found, Origination, Refusal};
use crate::Error;
use crate::io::Io;
use crate::orig::Presented;

/// Solution 1: 3P ID information from the HSS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct HssIdInfo;

/// Solution 1 (§6.1): 3P ID information from the HSS (or the repository its URI names), signed
/// inside the `shaken` PASSporT.
pub fn hss_id_info() -> Arc<dyn Flow> {
    Arc::new(HssIdInfo)
}

impl Flow for HssIdInfo {
    fn present<'a>(
        &'a self,
        io: &'a Io<'a>,
        _invite: &'a mut Request,
        caller_tn: &'a str,
    ) -> BoxFuture<'a, Origination> {
        Box::pin(async move {
            let found = lookup(io, caller_tn).await;
            Origination::found(io.conclude(Act::IdInfoLookup, found).map(presented))
        })
    }

    fn signing_choice(&self) -> Option<(&'static str, &'static str)> {
        Some((
            crate::choices::SOL1_PASSPORT,
            "3P ID information as rcd claims inside the shaken PASSporT (RFC 9795 §12), and the P-Asserted-Identity display name",
        ))
    }
}

/// Steps 3–5: the HSS, then (for a URI) the repository.
async fn lookup(io: &Io<'_>, caller_tn: &str) -> Found<IdInfo> {
    let answer = io
        .hss_get::<IdInfoAnswer>(&sh::id_info_path(&digits(caller_tn)))
        .await;
    match from_hss(answer)? {
        Held::Info(info) => {
            let label = format!("3P ID information from the HSS: {:?}", info.name);
            Ok((info, label))
        }
        Held::At(url) => from_repository(&url, io.get_json::<IdInfo>(&url).await),
    }
}

/// Where the HSS says the 3P ID information is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Held {
    /// In the HSS: here it is.
    Info(IdInfo),
    /// In the repository at this URI.
    At(String),
}

/// The HSS's answer (step 3): the information, where to fetch it, or why there is none.
fn from_hss(answer: Result<Option<IdInfoAnswer>, Error>) -> Result<Held, Refusal> {
    match answer {
        Ok(Some(IdInfoAnswer {
            info: Some(info), ..
        })) => Ok(Held::Info(info)),
        Ok(Some(IdInfoAnswer {
            info: None,
            url: Some(url),
        })) => Ok(Held::At(url)),
        Ok(Some(IdInfoAnswer {
            info: None,
            url: None,
        })) => Err(Refusal::new(
            Reason::Malformed,
            "the HSS returned neither information nor URI: no 3P ID",
        )),
        Ok(None) => Err(Refusal::new(
            Reason::NotSubscribed,
            "IMPU not subscribed to third party ID information: no 3P ID is presented (any in the INVITE is ignored)",
        )),
        Err(e) => Err(Refusal::unavailable("HSS", &e, ": no 3P ID")),
    }
}

/// The repository's answer (step 5).
fn from_repository(url: &str, answer: Result<Option<IdInfo>, Error>) -> Found<IdInfo> {
    match answer {
        Ok(Some(info)) => {
            let label = format!(
                "3P ID information fetched from the repository: {:?}",
                info.name
            );
            Ok((info, label))
        }
        Ok(None) => Err(Refusal::new(
            Reason::NoRecord,
            format!("the repository has nothing at {url}: no 3P ID"),
        )),
        Err(e) => Err(Refusal::unavailable("repository", &e, ": no 3P ID")),
    }
}

/// Step 6: the name goes into the `shaken` PASSporT's `rcd` claims.
fn presented(info: IdInfo) -> Presented {
    Presented {
        rcd: stir::Rcd {
            nam: Some(info.name),
            ..stir::Rcd::default()
        },
        rcdi: None,
        crn: None,
        in_shaken: true,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn info() -> IdInfo {
        IdInfo {
            id: "sip:q@qbranch.example".into(),
            name: "Q Branch".into(),
        }
    }

    fn down() -> Error {
        Error::Status {
            url: "https://hss/x".into(),
            status: 503,
            body: String::new(),
        }
    }

    #[test]
    fn the_hss_answer_decides_where_to_look() {
        let both = IdInfoAnswer {
            info: Some(info()),
            url: Some("https://repo/1".into()),
        };
        assert_eq!(from_hss(Ok(Some(both))), Ok(Held::Info(info())));
        let pointer = IdInfoAnswer {
            info: None,
            url: Some("https://repo/1".into()),
        };
        assert_eq!(
            from_hss(Ok(Some(pointer))),
            Ok(Held::At("https://repo/1".into()))
        );
        let empty = IdInfoAnswer {
            info: None,
            url: None,
        };
        assert_eq!(
            from_hss(Ok(Some(empty))).unwrap_err().reason,
            Reason::Malformed
        );
        assert_eq!(
            from_hss(Ok(None)).unwrap_err().reason,
            Reason::NotSubscribed
        );
        assert_eq!(
            from_hss(Err(down())).unwrap_err().reason,
            Reason::Unreachable
        );
    }

    #[test]
    fn the_repository_answer_is_found_or_refused() {
        let (found, label) = from_repository("https://repo/1", Ok(Some(info()))).unwrap();
        assert_eq!(found, info());
        assert!(label.contains("Q Branch"));
        assert_eq!(
            from_repository("https://repo/1", Ok(None))
                .unwrap_err()
                .reason,
            Reason::NoRecord
        );
        assert_eq!(
            from_repository("https://repo/1", Err(down()))
                .unwrap_err()
                .reason,
            Reason::Unreachable
        );
    }

    #[test]
    fn the_name_rides_in_shaken() {
        let p = presented(info());
        assert!(p.in_shaken);
        assert_eq!(p.name(), Some("Q Branch"));
        assert_eq!(p.rcd.jcl, None);
    }
}
