//! Telephone numbers as the testbed writes them: E.164 with `+` in SIP and PASSporT `orig`/`dest`
//! claims that carry digits only (RFC 8225 §5.2.1), and the digits-only form the HTTP paths use.

/// The digits of a telephone number (`+1 202-555-1000` → `12025551000`).
pub fn digits(tn: &str) -> String {
    tn.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_only() {
        assert_eq!(digits("+1 (202) 555-1000"), "12025551000");
        assert_eq!(digits("tel:+12025551000"), "12025551000");
        assert_eq!(digits(""), "");
    }
}
