//! The signed Avatar-id (TR 33.790 §6.7.2.1 step 3 and NOTE 2; testbed choice
//! `7-signed-avatar-id`): an `avatar` PASSporT signed with the fixture STI-SP key verifies with
//! its certificate through the SHAKEN pipeline, and one without a well-formed `avatar` claim is
//! refused with its typed error and 438.

use super::*;

const IMPU_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";

fn claim() -> AvatarClaim {
    AvatarClaim::new("qbranch-agent", "avatar-call", IMPU_A)
}

fn avatar_passport() -> Passport {
    Passport::avatar(X5U, Orig::tn(UE_A), Dest::tn(UE_B), NOW, claim())
}

fn avatar_header() -> Value {
    json!({"alg":"ES256","ppt":"avatar","typ":"passport","x5u":X5U})
}

#[test]
fn avatar_passport_round_trips_through_the_pipeline() {
    let key = sp_key("sti-sp-1001");
    let token = avatar_passport().sign(&key).unwrap();
    let header = IdentityHeader::new(token.clone(), X5U, "avatar").to_header();
    assert!(header.ends_with(";alg=ES256;ppt=\"avatar\""), "{header}");
    let ids = IdentityHeader::from_headers([header.as_str()]).unwrap();
    let v = run(&ids[0], &facts(), NOW + 5, &fetcher("sti-sp-1001")).unwrap();
    assert_eq!(v.ppt, Some(Ppt::Avatar));
    assert_eq!(v.avatar, Some(claim()));
    assert_eq!(v.attest, None);
    assert_eq!(v.claims_json["avatar"]["impu"], IMPU_A);
    // The Ms result gives the verified claim back.
    let entry = ms::VerifyResult::from_outcome("avatar", &ids[0].jws, &Ok(v));
    assert_eq!(entry.avatar(), Some(claim()));

    // Independently of the pipeline: the signature verifies with the public key of the
    // fixture STI-SP certificate (pki/sti-sp-1001.chain.pem, end-entity first).
    let chain = read("pki/sti-sp-1001.chain.pem");
    let (public, cert) = cert::validate_chain(chain.as_bytes(), &anchors(), NOW).unwrap();
    assert!(cert.subject.contains("SHAKEN 1001"), "{}", cert.subject);
    assert_eq!(&public, key.verifying_key());
    jose::verify_es256(&public, &CompactJws::split(&token).unwrap()).unwrap();
}

#[test]
fn avatar_passport_of_another_caller_is_refused() {
    // The signer's TNAuthList must cover orig, as for any SHAKEN PASSporT.
    let id = IdentityHeader::new(
        avatar_passport().sign(&sp_key("sti-sp-wrongtn")).unwrap(),
        X5U,
        "avatar",
    );
    let (c, e) = code(run(&id, &facts(), NOW, &fetcher("sti-sp-wrongtn")));
    assert_eq!(
        (c, matches!(e, Error::TnNotAuthorised { .. })),
        (438, true),
        "{e}"
    );
}

#[test]
fn avatar_passport_without_a_well_formed_claim_is_438() {
    let key = sp_key("sti-sp-1001");
    let base = || json!({"dest":{"tn":[UE_B]},"iat":NOW,"orig":{"tn":UE_A}});
    let with = |avatar: Value| {
        let mut claims = base();
        claims["avatar"] = avatar;
        claims
    };
    type Case = (&'static str, Value, fn(&Error) -> bool);
    let cases: Vec<Case> = vec![
        ("no avatar claim", base(), |e| {
            matches!(e, Error::MissingClaim { claim: "avatar" })
        }),
        ("avatar not an object", with(json!("qbranch-agent")), |e| {
            matches!(
                e,
                Error::MalformedAvatar {
                    fault: AvatarFault::Shape(_)
                }
            )
        }),
        (
            "no app",
            with(json!({"id":"qbranch-agent","impu":IMPU_A})),
            |e| {
                matches!(
                    e,
                    Error::MalformedAvatar {
                        fault: AvatarFault::Shape(_)
                    }
                )
            },
        ),
        (
            "empty id",
            with(json!({"app":"avatar-call","id":"","impu":IMPU_A})),
            |e| {
                matches!(
                    e,
                    Error::MalformedAvatar {
                        fault: AvatarFault::Empty("id")
                    }
                )
            },
        ),
        (
            "impu not a URI",
            with(json!({"app":"avatar-call","id":"owl","impu":UE_A})),
            |e| {
                matches!(
                    e,
                    Error::MalformedAvatar {
                        fault: AvatarFault::ImpuNotUri(_)
                    }
                )
            },
        ),
    ];
    for (name, claims, expect) in cases {
        let id = raw_identity(avatar_header(), claims, &key, Some("avatar"));
        let (c, e) = code(run(&id, &facts(), NOW, &fetcher("sti-sp-1001")));
        assert_eq!(c, 438, "{name}: {e}");
        assert!(expect(&e), "{name}: {e:?}");
    }
}
