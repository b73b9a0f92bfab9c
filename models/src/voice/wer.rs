//! Word error rate as the project reports it (`robot eval voice`, the
//! recognizer's tuning example): both texts go through
//! [`crate::normalize`] (number words become digits, "two meters" = "2 m",
//! so a spelt-out number is not an error against digits), are lower-cased
//! and split on spaces, and tokens without a letter or digit are dropped;
//! WER = word edit distance / reference words.

/// Words for WER: normalized, lower case, punctuation tokens dropped.
pub fn wer_words(text: &str) -> Vec<String> {
    crate::normalize::normalize(text)
        .text
        .to_lowercase()
        .split_whitespace()
        .filter(|t| t.chars().any(char::is_alphanumeric))
        .map(str::to_string)
        .collect()
}

/// Word-level edit distance (substitutions, insertions, deletions).
pub fn edit_distance(reference: &[String], hypothesis: &[String]) -> usize {
    let mut prev: Vec<usize> = (0..=hypothesis.len()).collect();
    let mut cur = vec![0; hypothesis.len() + 1];
    for (i, r) in reference.iter().enumerate() {
        cur[0] = i + 1;
        for (j, h) in hypothesis.iter().enumerate() {
            let sub = prev[j] + usize::from(r != h);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[hypothesis.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn edit_distance_counts_word_edits() {
        assert_eq!(edit_distance(&w("a b c"), &w("a b c")), 0);
        assert_eq!(edit_distance(&w("a b c"), &w("a x c")), 1);
        assert_eq!(edit_distance(&w("a b c"), &w("a c")), 1);
        assert_eq!(edit_distance(&w("a b c"), &w("")), 3);
        assert_eq!(edit_distance(&w(""), &w("a b")), 2);
    }

    #[test]
    fn wer_words_normalizes_numbers_and_drops_punctuation() {
        assert_eq!(wer_words("Drive forward two meters!"), wer_words("drive forward 2 meters"));
        assert!(wer_words("stop , now .").iter().all(|t| t != "," && t != "."));
    }
}
