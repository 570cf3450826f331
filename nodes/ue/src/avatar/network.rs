//! UE-A in solution #7 (TR 33.790 §6.7.2.1, network-centric rendering): the Avatar-id chosen
//! from the application list of step 1 and rendering in the network decided (step 2); the
//! application data channel negotiated by re-INVITE, its section carrying the Avatar-id, the
//! application and the fingerprint of the UE certificate (step 3, "the fingerprint of the UE
//! certificate can be exchanged via SIP message"; testbed choice [`FINGERPRINT_CARRIER`]: RFC
//! 8864 `a=dcsa` attributes of the application stream); the UE token sent on that channel (step
//! 4). The IMS AS's re-INVITEs of steps 5 and 6 are answered by the answering side (`session`);
//! the facial points of step 12 and the feedback of step 15 are [`Ue::send_facial_points`].
//!
//! Pure parts: [`avatar_dcsa`], [`check_listed`], [`avatar_app_channel`].

use std::sync::Arc;

use ::avatar::ue_token::{self, UeTokenClaims};
use dc::Peer;
use kit::Error;
use proto::sdp::DcMap;
use proto::trace::{Act, Note};
use proto::wire::avatar::{AVATAR_APP_STREAM, DcMessage};
use proto::wire::dcsf::AppList;
use proto::wire::mf::P2A_MID_PREFIX;

use super::AvatarError;
use super::object::{recv, send, unexpected};
use crate::{Call, Ue, ue_certificate};

/// The testbed choice of how the UE certificate's fingerprint travels in SIP (§6.7.2.1 step 3
/// leaves it open): `a=dcsa:<stream> ue-cert-fingerprint:…` in the re-INVITE's SDP offer.
pub const FINGERPRINT_CARRIER: &str = "7-fingerprint-carrier";

/// The application data channel UE-A asks for (§6.7.2.1 step 3): which avatar, for which
/// application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvatarAdc {
    /// The Avatar-id chosen at step 2.
    pub avatar_id: String,
    /// The avatar application (from the DCSF's list, step 1).
    pub app_id: String,
}

/// The application data channel's map: stream [`AVATAR_APP_STREAM`], reliable, subprotocol
/// `avatar-json`.
pub fn avatar_app_channel() -> DcMap {
    DcMap::reliable(AVATAR_APP_STREAM, "avatar-app", "avatar-json")
}

/// The `a=dcsa` attributes of the application stream (RFC 8864 §6): `avatar-id:<id>`,
/// `avatar-app:<app>` and `ue-cert-fingerprint:<fingerprint>` (`sha-256 AB:CD:…`, RFC 8122
/// style). Pure.
pub fn avatar_dcsa(adc: &AvatarAdc, fingerprint: &str) -> Vec<(u16, String)> {
    [
        format!("avatar-id:{}", adc.avatar_id),
        format!("avatar-app:{}", adc.app_id),
        format!("ue-cert-fingerprint:{fingerprint}"),
    ]
    .into_iter()
    .map(|attribute| (AVATAR_APP_STREAM, attribute))
    .collect()
}

/// Whether `avatar_id` is one the application list gives for application `app_id`
/// (§6.7.2.1 steps 1–2); [`AvatarError::NoSuchApp`] or [`AvatarError::NotInList`] otherwise.
/// Pure.
pub fn check_listed(list: &AppList, app_id: &str, avatar_id: &str) -> Result<(), AvatarError> {
    let app = list
        .apps
        .iter()
        .find(|a| a.id == app_id)
        .ok_or_else(|| AvatarError::NoSuchApp {
            app_id: app_id.to_owned(),
        })?;
    if app.avatar_ids.iter().any(|id| id == avatar_id) {
        Ok(())
    } else {
        Err(AvatarError::NotInList {
            avatar_id: avatar_id.to_owned(),
            app_id: app_id.to_owned(),
        })
    }
}

impl Ue {
    /// TR 33.790 §6.7.2.1 step 2: UE-A decides on rendering in the network
    /// ([`Act::ChooseRendering`] done) and selects `avatar_id` for the call
    /// ([`Act::ChooseAvatar`] done) — if it is among the Avatar-ids `list` gives for
    /// application `app_id` ([`check_listed`]); otherwise [`Act::ChooseAvatar`] is refused
    /// (`NotEntitled`) and the error returned.
    pub fn choose_network_avatar(
        &self,
        list: &AppList,
        app_id: &str,
        avatar_id: &str,
    ) -> Result<(), AvatarError> {
        if let Err(e) = check_listed(list, app_id, avatar_id) {
            self.ctx.note(
                None,
                Note::refused(
                    Act::ChooseAvatar,
                    e.reason(),
                    format!("choose Avatar-id {avatar_id} (TR 33.790 §6.7.2.1 step 2): {e}"),
                ),
            );
            return Err(e);
        }
        self.ctx.note(
            None,
            Note::done(
                Act::ChooseRendering,
                "network-centric rendering: the UE's power, signal, computing power and \
                 storage favour rendering in the network (TR 33.790 §6.7.2.1 step 2)",
            ),
        );
        self.ctx.note(
            None,
            Note::done(
                Act::ChooseAvatar,
                format!(
                    "choose Avatar-id {avatar_id} from the list of application {app_id} \
                     (TR 33.790 §6.7.2.1 step 2)"
                ),
            ),
        );
        Ok(())
    }

    /// TR 33.790 §6.7.2.1 step 3: asks for the application data channel by re-INVITE, as
    /// [`Ue::add_channels`] does with mid `p2a` and [`avatar_app_channel`], the section also
    /// carrying [`avatar_dcsa`] with the fingerprint of this UE's own certificate
    /// (`fixtures/pki/ue/<node id>.pem`; a `Note::Choice` [`FINGERPRINT_CARRIER`]). Returns the
    /// association (also kept in [`Call::added`]).
    pub async fn negotiate_avatar_channel(
        &self,
        call: &mut Call,
        adc: &AvatarAdc,
    ) -> Result<Arc<Peer>, Error> {
        let fingerprint = ue_token::fingerprint(&ue_certificate(&self.ctx.id)?);
        self.ctx.note(
            None,
            Note::choice(
                FINGERPRINT_CARRIER,
                format!(
                    "the UE certificate's fingerprint rides in the re-INVITE's SDP offer: \
                     a=dcsa:{AVATAR_APP_STREAM} ue-cert-fingerprint:{fingerprint}"
                ),
            ),
        );
        let dcsa = avatar_dcsa(adc, &fingerprint);
        self.add_section(call, P2A_MID_PREFIX, &[avatar_app_channel()], &dcsa)
            .await
    }

    /// TR 33.790 §6.7.2.1 step 4: signs the UE token over its IMPU and the XR AS
    /// `xr_as_host` in call `call_id` with the UE key and names its certificate (those
    /// [`Ue::use_ue_key`] names, if set), sends it as [`DcMessage::UeToken`] on `p2a` (stream
    /// [`AVATAR_APP_STREAM`]; [`Act::SendUeToken`] done with its `Note::Token` once signed, just
    /// before it goes; refused when it could not be signed, or then not sent) and waits ([`super::MESSAGE_WAIT`]) for the MF's
    /// [`DcMessage::Ack`]: an error when none comes.
    pub async fn send_ue_token(
        &self,
        p2a: &Peer,
        call_id: &str,
        xr_as_host: &str,
    ) -> Result<(), AvatarError> {
        let signer = self.ue_key_name();
        let label = format!(
            "send the UE token (sub {}, xr_as {xr_as_host}) signed with the UE key of {signer} \
             (ES256, x5t#S256 of its certificate) on stream {AVATAR_APP_STREAM} \
             (TR 33.790 §6.7.2.1 step 4)",
            self.impu()
        );
        let token = match self.sign_ue_token(&signer, call_id, xr_as_host) {
            Ok(token) => token,
            Err(e) => {
                self.ctx.note(
                    None,
                    Note::refused(Act::SendUeToken, e.reason(), format!("{label}: {e}")),
                );
                return Err(e);
            }
        };
        // Noted before it goes: once sent, the network may answer UE-A with requests of its
        // own (the IMS AS's re-INVITE of step 5) before this task writes, and the trace's order
        // must not depend on which comes first.
        self.ctx
            .note(None, Note::done(Act::SendUeToken, label.clone()));
        if let Some(note) = ue_token::note(&label, &token) {
            self.ctx.note(None, note);
        }
        let message = DcMessage::UeToken { token };
        if let Err(e) = send(p2a, AVATAR_APP_STREAM, &message).await {
            self.ctx.note(
                None,
                Note::refused(Act::SendUeToken, e.reason(), format!("{label}: {e}")),
            );
            return Err(e);
        }
        match recv(p2a, AVATAR_APP_STREAM).await? {
            DcMessage::Ack { .. } => Ok(()),
            other => Err(unexpected(AVATAR_APP_STREAM, "ack", &other)),
        }
    }

    /// The UE token of call `call_id` for `xr_as_host`, signed at the scenario's now with the
    /// key of UE `signer`, its header naming that UE's certificate.
    fn sign_ue_token(
        &self,
        signer: &str,
        call_id: &str,
        xr_as_host: &str,
    ) -> Result<String, AvatarError> {
        let key = self.ue_key().map_err(AvatarError::Key)?;
        let cert = ue_certificate(signer).map_err(AvatarError::Certificate)?;
        let claims = UeTokenClaims::new(&self.impu(), xr_as_host, call_id, self.ctx.clock.now());
        Ok(ue_token::sign(&claims, &key, &cert)?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proto::trace::Reason;
    use proto::wire::dcsf::App;

    fn adc() -> AvatarAdc {
        AvatarAdc {
            avatar_id: "qbranch-agent".into(),
            app_id: "avatar-call".into(),
        }
    }

    fn list() -> AppList {
        AppList {
            tn: "+12025551000".into(),
            apps: vec![App {
                id: "avatar-call".into(),
                name: "Avatar call".into(),
                url: "/apps/avatar-call".into(),
                avatar_ids: vec!["qbranch-agent".into(), "owl".into()],
            }],
        }
    }

    #[test]
    fn the_application_stream_names_avatar_app_and_fingerprint() {
        let fingerprint = "sha-256 AB:CD:EF";
        assert_eq!(
            avatar_dcsa(&adc(), fingerprint),
            [
                (1100, "avatar-id:qbranch-agent".to_owned()),
                (1100, "avatar-app:avatar-call".to_owned()),
                (1100, "ue-cert-fingerprint:sha-256 AB:CD:EF".to_owned()),
            ]
        );
        let channel = avatar_app_channel();
        assert_eq!(channel.stream, AVATAR_APP_STREAM);
        assert_eq!(channel, DcMap::reliable(1100, "avatar-app", "avatar-json"));
    }

    #[test]
    fn the_fingerprint_is_the_ue_certificate_s() {
        let fingerprint = ue_token::fingerprint(&ue_certificate("ue-a").unwrap());
        assert!(fingerprint.starts_with("sha-256 "), "{fingerprint}");
        // 32 bytes as upper-case hex pairs.
        let hex = fingerprint.trim_start_matches("sha-256 ");
        assert_eq!(hex.split(':').count(), 32);
        assert_ne!(
            fingerprint,
            ue_token::fingerprint(&ue_certificate("ue-m").unwrap())
        );
        assert!(ue_certificate("nobody").is_err());
    }

    #[test]
    fn only_a_listed_avatar_of_the_application_is_chosen() {
        assert!(check_listed(&list(), "avatar-call", "qbranch-agent").is_ok());
        assert!(check_listed(&list(), "avatar-call", "owl").is_ok());
        let e = check_listed(&list(), "avatar-call", "mallory").unwrap_err();
        assert!(matches!(e, AvatarError::NotInList { .. }), "{e}");
        assert_eq!(e.reason(), Reason::NotEntitled);
        let e = check_listed(&list(), "other-app", "qbranch-agent").unwrap_err();
        assert!(matches!(e, AvatarError::NoSuchApp { .. }), "{e}");
        assert_eq!(e.reason(), Reason::NotEntitled);
    }
}
