//! Splitting text to send into pieces within Notion's request limits.
//!
//! Limits (reference/request-limits): 2,000 per rich text `text.content` and per link URL, 100
//! items per rich text array, 100 blocks per append request, 500 KB per request. Lengths are
//! counted in **UTF-16 code units**, as JavaScript's `.length` does: an emoji or any other
//! character outside the Basic Multilingual Plane counts 2. Cuts fall on character boundaries, so
//! a surrogate pair is never split. Pure: no I/O.

/// Most UTF-16 code units in one rich text item's `text.content`.
pub const MAX_TEXT_UNITS: usize = 2000;
/// Most rich text items in one paragraph or property value.
pub const MAX_RICH_TEXT_ITEMS: usize = 100;
/// Most blocks in one append request.
pub const MAX_BLOCKS_PER_REQUEST: usize = 100;
/// Text bytes we allow in one request, well below the 500 KB payload limit (JSON adds overhead).
pub const MAX_TEXT_BYTES_PER_REQUEST: usize = 300 * 1024;
/// Most UTF-16 code units in a `url` property value or a link URL.
pub const MAX_URL_UNITS: usize = 2000;
/// Most UTF-16 code units in an `email` or `phone_number` property value.
pub const MAX_EMAIL_OR_PHONE_UNITS: usize = 200;

/// The length of `text` as Notion counts it: UTF-16 code units.
pub fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// A paragraph to create: its text as rich text items of at most [`MAX_TEXT_UNITS`] each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paragraph {
    pub pieces: Vec<String>,
}

impl Paragraph {
    /// The paragraph's whole text.
    pub fn text(&self) -> String {
        self.pieces.concat()
    }
}

/// Splits text into paragraphs (at blank lines), each cut into pieces Notion accepts.
///
/// Concatenating the pieces of a paragraph gives back its text exactly; a cut prefers the last
/// white space before the limit so words stay whole.
pub fn paragraphs(text: &str) -> Vec<Paragraph> {
    let normalized = text.replace("\r\n", "\n");
    normalized
        .split("\n\n")
        .map(|paragraph| paragraph.trim_matches('\n'))
        .filter(|paragraph| !paragraph.trim().is_empty())
        .flat_map(|paragraph| {
            let pieces = split_pieces(paragraph);
            pieces
                .chunks(MAX_RICH_TEXT_ITEMS)
                .map(|chunk| Paragraph {
                    pieces: chunk.to_vec(),
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The text of a `title` or `rich_text` property value was longer than one value may be.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the text is {units} UTF-16 units long; a Notion text property holds at most {} ({MAX_RICH_TEXT_ITEMS} pieces of {MAX_TEXT_UNITS})",
    MAX_RICH_TEXT_ITEMS * MAX_TEXT_UNITS
)]
pub struct TextTooLong {
    pub units: usize,
}

/// Cuts the text of one `title` or `rich_text` value into rich text items Notion accepts, keeping
/// every character (line breaks included); an empty text is no items.
pub fn rich_text_pieces(text: &str) -> Result<Vec<String>, TextTooLong> {
    let pieces = split_pieces(text);
    if pieces.len() > MAX_RICH_TEXT_ITEMS {
        return Err(TextTooLong {
            units: utf16_len(text),
        });
    }
    Ok(pieces)
}

pub(super) fn split_pieces(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let cut = cut_point(rest);
        pieces.push(rest[..cut].to_string());
        rest = &rest[cut..];
    }
    pieces
}

/// Byte index at which to cut `text` so the head has at most [`MAX_TEXT_UNITS`] UTF-16 units.
fn cut_point(text: &str) -> usize {
    let mut units = 0;
    // The byte index where the head is full, and the end of the last white space seen in the
    // last tenth of the window.
    let mut soft_cut = None;
    for (index, character) in text.char_indices() {
        let width = character.len_utf16();
        if units + width > MAX_TEXT_UNITS {
            return soft_cut.unwrap_or(index);
        }
        units += width;
        if character.is_whitespace() && units >= MAX_TEXT_UNITS * 9 / 10 {
            soft_cut = Some(index + character.len_utf8());
        }
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> Vec<Vec<usize>> {
        paragraphs(text)
            .iter()
            .map(|p| p.pieces.iter().map(|piece| utf16_len(piece)).collect())
            .collect()
    }

    #[test]
    fn short_text_is_one_piece() {
        assert_eq!(shape("Call the client"), vec![vec![15]]);
        assert_eq!(shape(""), Vec::<Vec<usize>>::new());
        assert_eq!(shape("\n\n  \n\n"), Vec::<Vec<usize>>::new());
    }

    #[test]
    fn blank_lines_separate_paragraphs_single_newlines_stay() {
        let result = paragraphs("one\ntwo\n\nthree\r\n\r\nfour");
        let texts: Vec<String> = result.iter().map(Paragraph::text).collect();
        assert_eq!(texts, ["one\ntwo", "three", "four"]);
    }

    #[test]
    fn long_text_is_cut_at_word_boundaries_and_loses_nothing() {
        let text = "lorem ipsum ".repeat(420); // 5040 characters
        let result = paragraphs(&text);
        assert_eq!(result.len(), 1);
        let paragraph = &result[0];
        assert_eq!(paragraph.text(), text.trim_end_matches('\n'));
        assert!(
            paragraph
                .pieces
                .iter()
                .all(|p| utf16_len(p) <= MAX_TEXT_UNITS)
        );
        assert!(
            paragraph.pieces[..paragraph.pieces.len() - 1]
                .iter()
                .all(|p| p.ends_with(' '))
        );
        assert_eq!(paragraph.pieces.len(), 3);
    }

    #[test]
    fn text_without_spaces_is_cut_hard_on_character_boundaries() {
        let text = "é".repeat(5000);
        assert_eq!(shape(&text), vec![vec![2000, 2000, 1000]]);
        assert_eq!(paragraphs(&text)[0].text(), text);
    }

    #[test]
    fn lengths_are_counted_in_utf16_units_and_pairs_stay_whole() {
        // 2,100 emoji are 4,200 units: pieces of 1,000 emoji (2,000 units), never a half pair.
        let emoji = "😀".repeat(2100);
        assert_eq!(utf16_len(&emoji), 4200);
        assert_eq!(shape(&emoji), vec![vec![2000, 2000, 200]]);
        assert_eq!(paragraphs(&emoji)[0].text(), emoji);
        // An odd budget: 1,999 units of ASCII, then an emoji that would straddle the limit.
        let straddling = format!("{}😀tail", "a".repeat(1999));
        let pieces = &paragraphs(&straddling)[0].pieces;
        assert_eq!(pieces[0], "a".repeat(1999));
        assert_eq!(pieces[1], "😀tail");
    }

    #[test]
    fn mixed_text_prefers_word_boundaries_within_the_unit_budget() {
        let text = "naïve 😀 café ".repeat(400); // 13 chars, 14 units a repeat: 5,600 units
        let pieces = &paragraphs(&text)[0].pieces;
        assert_eq!(pieces.concat(), text.trim_end_matches('\n'));
        assert!(pieces.iter().all(|p| utf16_len(p) <= MAX_TEXT_UNITS));
        assert!(pieces[..pieces.len() - 1].iter().all(|p| p.ends_with(' ')));
    }

    #[test]
    fn rich_text_values_keep_line_breaks_and_have_at_most_100_items() {
        let text = "first\n\nsecond";
        assert_eq!(rich_text_pieces(text).unwrap(), vec![text.to_string()]);
        assert!(rich_text_pieces("").unwrap().is_empty());
        let most = "x".repeat(MAX_TEXT_UNITS * MAX_RICH_TEXT_ITEMS);
        assert_eq!(rich_text_pieces(&most).unwrap().len(), 100);
        let too_long = format!("{most}x");
        assert_eq!(
            rich_text_pieces(&too_long),
            Err(TextTooLong { units: 200_001 })
        );
    }

    #[test]
    fn huge_paragraph_becomes_several_blocks_of_at_most_100_items() {
        let text = "x".repeat(MAX_TEXT_UNITS * 150);
        let shapes = shape(&text);
        assert_eq!(shapes.len(), 2);
        assert_eq!(shapes[0].len(), 100);
        assert_eq!(shapes[1].len(), 50);
    }
}
