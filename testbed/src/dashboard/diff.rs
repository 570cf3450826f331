//! Line diff for `d` (the message before and after a node changed it): longest common
//! subsequence over lines, which is plenty for SIP and HTTP messages of a few dozen lines.

/// `(' ', line)` common, `('-', line)` only in `a`, `('+', line)` only in `b`.
pub fn lines<'a>(a: &'a str, b: &'a str) -> Vec<(char, &'a str)> {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n && j < m {
        if a[i] == b[j] {
            out.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            out.push(('-', a[i]));
            i += 1;
        } else {
            out.push(('+', b[j]));
            j += 1;
        }
    }
    out.extend(a[i..].iter().map(|l| ('-', *l)));
    out.extend(b[j..].iter().map(|l| ('+', *l)));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn added_and_removed_lines() {
        let d = super::lines(
            "INVITE\nFrom: a\nTo: b",
            "INVITE\nIdentity: x\nFrom: a\nTo: c",
        );
        assert_eq!(
            d,
            [
                (' ', "INVITE"),
                ('+', "Identity: x"),
                (' ', "From: a"),
                ('-', "To: b"),
                ('+', "To: c")
            ]
        );
    }
}
