//! What the MF and the XR AS are configured to trust (TR 33.790 §6.7.2.1 NOTEs 7 and 9): the
//! certificate the avatar provider (the DAC) signs avatar metadata with, pre-configured from the
//! fixture PKI rather than fetched.

/// Where the DAC's certificate is, under `fixtures/`.
pub const DAC_CERTIFICATE: &str = "pki/tls/dac.avatars.example.pem";

/// The DAC's certificate (DER), read from [`DAC_CERTIFICATE`].
pub fn dac_certificate() -> Result<Vec<u8>, kit::Error> {
    let pem = kit::fixtures::read(DAC_CERTIFICATE)?;
    avatar::cert::der_from_pem(&String::from_utf8_lossy(&pem)).map_err(|e| kit::Error::Fixture {
        path: DAC_CERTIFICATE.into(),
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_dac_certificate_is_the_one_it_signs_with() {
        let der = dac_certificate().unwrap();
        assert_eq!(kit::tls::dns_names(&der).unwrap(), ["dac.avatars.example"]);
    }
}
