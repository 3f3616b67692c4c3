//! Splitting text to append into paragraph blocks within Notion's request limits.
//!
//! Limits (reference/request-limits): 2000 characters per rich text `text.content`, 100 items per
//! rich text array, 100 blocks per append request, 500 KB per request. Pure: no I/O.

/// Most characters in one rich text item's `text.content`.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Most rich text items in one paragraph.
pub const MAX_RICH_TEXT_ITEMS: usize = 100;
/// Most blocks in one append request.
pub const MAX_BLOCKS_PER_REQUEST: usize = 100;
/// Text bytes we allow in one request, well below the 500 KB payload limit (JSON adds overhead).
pub const MAX_TEXT_BYTES_PER_REQUEST: usize = 300 * 1024;

/// A paragraph to create: its text as rich text items of at most [`MAX_TEXT_CHARS`] each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paragraph {
    pub pieces: Vec<String>,
}

impl Paragraph {
    /// The paragraph's whole text.
    pub fn text(&self) -> String {
        self.pieces.concat()
    }

    fn bytes(&self) -> usize {
        self.pieces.iter().map(String::len).sum()
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

fn split_pieces(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let cut = cut_point(rest);
        pieces.push(rest[..cut].to_string());
        rest = &rest[cut..];
    }
    pieces
}

/// Byte index at which to cut `text` so the head has at most [`MAX_TEXT_CHARS`] characters.
fn cut_point(text: &str) -> usize {
    let Some((hard_limit, _)) = text.char_indices().nth(MAX_TEXT_CHARS) else {
        return text.len();
    };
    let window = &text[..hard_limit];
    // Prefer cutting after white space in the last tenth of the window.
    let soft_floor = window
        .char_indices()
        .nth(MAX_TEXT_CHARS * 9 / 10)
        .map_or(0, |(index, _)| index);
    window[soft_floor..]
        .rfind(char::is_whitespace)
        .map(|offset| {
            let at = soft_floor + offset;
            at + window[at..].chars().next().map_or(1, char::len_utf8)
        })
        .unwrap_or(hard_limit)
}

/// Groups paragraphs into append requests within the block-count and size limits.
pub fn batches(paragraphs: &[Paragraph]) -> Vec<&[Paragraph]> {
    let mut batches = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (index, paragraph) in paragraphs.iter().enumerate() {
        let full = index - start == MAX_BLOCKS_PER_REQUEST;
        let too_big = index > start && bytes + paragraph.bytes() > MAX_TEXT_BYTES_PER_REQUEST;
        if full || too_big {
            batches.push(&paragraphs[start..index]);
            start = index;
            bytes = 0;
        }
        bytes += paragraph.bytes();
    }
    if start < paragraphs.len() {
        batches.push(&paragraphs[start..]);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> Vec<Vec<usize>> {
        paragraphs(text)
            .iter()
            .map(|p| p.pieces.iter().map(|piece| piece.chars().count()).collect())
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
                .all(|p| p.chars().count() <= MAX_TEXT_CHARS)
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
    fn huge_paragraph_becomes_several_blocks_of_at_most_100_items() {
        let text = "x".repeat(MAX_TEXT_CHARS * 150);
        let shapes = shape(&text);
        assert_eq!(shapes.len(), 2);
        assert_eq!(shapes[0].len(), 100);
        assert_eq!(shapes[1].len(), 50);
    }

    #[test]
    fn batches_respect_block_count_and_size() {
        let many: Vec<Paragraph> = (0..250)
            .map(|i| Paragraph {
                pieces: vec![format!("line {i}")],
            })
            .collect();
        let sizes: Vec<usize> = batches(&many).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [100, 100, 50]);

        let big: Vec<Paragraph> = (0..3)
            .map(|_| Paragraph {
                pieces: vec!["y".repeat(MAX_TEXT_CHARS); 60],
            })
            .collect();
        let sizes: Vec<usize> = batches(&big).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [2, 1]);
        assert!(batches(&[]).is_empty());
    }
}
