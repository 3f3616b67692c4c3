//! Blocks to create: what an append becomes (paragraphs from plain text, or the blocks of a
//! Markdown text), cut within Notion's limits, grouped into requests, and recognised again on
//! the page after a crash. Pure: no I/O.
//!
//! Limits (reference/request-limits): 2,000 UTF-16 units per rich text `text.content`, 100 items
//! per rich text array, 100 blocks per children array, nesting at most two levels in one
//! request (reference/patch-block-children).

use super::text::{
    MAX_BLOCKS_PER_REQUEST, MAX_RICH_TEXT_ITEMS, MAX_TEXT_BYTES_PER_REQUEST, MAX_URL_UNITS,
    paragraphs, split_pieces, utf16_len,
};
use crate::model::Block;
use crate::model::automation::parse_mention;
pub use crate::model::automation::{MENTION_END, MENTION_START, mention_token};

/// Inline styles Notion calls annotations (reference/rich-text, "The annotation object").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    pub bold: bool,
    pub italic: bool,
    pub strikethrough: bool,
    pub code: bool,
}

impl Style {
    pub fn is_plain(self) -> bool {
        self == Self::default()
    }
}

/// One piece of rich text to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inline {
    Text {
        content: String,
        style: Style,
        /// An absolute URL the text links to.
        link: Option<String>,
    },
    /// A user mention: Notion shows `@Name` and notifies the person.
    Mention {
        user_id: String,
        /// The name as the mirror knows it, for previews; Notion writes its own.
        name: String,
    },
}

impl Inline {
    pub fn text(content: impl Into<String>) -> Self {
        Self::Text {
            content: content.into(),
            style: Style::default(),
            link: None,
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Self::Text { content, link, .. } => {
                content.len() + link.as_ref().map_or(0, String::len)
            }
            Self::Mention { user_id, .. } => user_id.len() + 64,
        }
    }
}

/// The block types tasksync writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlockKind {
    Paragraph,
    /// `heading_1` to `heading_3`.
    Heading(u8),
    BulletedListItem,
    NumberedListItem,
    ToDo {
        checked: bool,
    },
    Quote,
    /// A code block in one of Notion's languages.
    Code {
        language: String,
    },
    Divider,
}

impl BlockKind {
    /// Notion's type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Paragraph => "paragraph",
            Self::Heading(1) => "heading_1",
            Self::Heading(2) => "heading_2",
            Self::Heading(_) => "heading_3",
            Self::BulletedListItem => "bulleted_list_item",
            Self::NumberedListItem => "numbered_list_item",
            Self::ToDo { .. } => "to_do",
            Self::Quote => "quote",
            Self::Code { .. } => "code",
            Self::Divider => "divider",
        }
    }

    /// Whether Notion accepts children under it (in one request).
    fn takes_children(&self) -> bool {
        !matches!(self, Self::Code { .. } | Self::Divider | Self::Heading(_))
    }
}

/// A block to create, with its rich text and children (one level: Notion takes two levels of
/// nesting in one request).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewBlock {
    pub kind: BlockKind,
    pub text: Vec<Inline>,
    pub children: Vec<NewBlock>,
}

impl NewBlock {
    pub fn new(kind: BlockKind, text: Vec<Inline>) -> Self {
        Self {
            kind,
            text,
            children: Vec::new(),
        }
    }

    /// The block's text as a reader sees it (mentions as `@Name`).
    pub fn plain_text(&self) -> String {
        self.text
            .iter()
            .map(|inline| match inline {
                Inline::Text { content, .. } => content.clone(),
                Inline::Mention { name, .. } => format!("@{name}"),
            })
            .collect()
    }

    fn bytes(&self) -> usize {
        self.text.iter().map(Inline::bytes).sum::<usize>()
            + self.children.iter().map(NewBlock::bytes).sum::<usize>()
    }

    /// Whether a block read back from the page is this one: the same type and the same text,
    /// a mention matching `@` and whatever name Notion shows (it may differ from the mirror's).
    pub fn matches(&self, block: &Block) -> bool {
        if block.kind != self.kind.type_name() {
            return false;
        }
        // The positions of the read text the expected pieces so far can end at (a mention's
        // name may contain anything, even the text that follows it, so every end is kept).
        let text = block.text.as_str();
        let mut ends = vec![false; text.len() + 1];
        ends[0] = true;
        for inline in &self.text {
            let mut next = vec![false; text.len() + 1];
            match inline {
                Inline::Text { content, .. } => {
                    for (start, _) in ends.iter().enumerate().filter(|(_, on)| **on) {
                        if text[start..].starts_with(content.as_str()) {
                            next[start + content.len()] = true;
                        }
                    }
                }
                Inline::Mention { .. } => {
                    if let Some(first) = ends
                        .iter()
                        .enumerate()
                        .position(|(start, on)| *on && text[start..].starts_with('@'))
                    {
                        for (end, _) in text.char_indices().filter(|(i, _)| *i > first) {
                            next[end] = true;
                        }
                        next[text.len()] = true;
                    }
                }
            }
            ends = next;
        }
        ends[text.len()]
    }
}

/// How an append's text is read.
pub use crate::model::automation::TextFormat;

/// The blocks a text becomes in a format, within Notion's limits.
pub fn blocks_of(text: &str, format: TextFormat) -> Vec<NewBlock> {
    let blocks = match format {
        TextFormat::Plain => plain_blocks(text),
        TextFormat::Markdown => super::markdown::blocks(text),
    };
    within_limits(blocks)
}

/// Plain text: paragraphs at blank lines, single line breaks kept; only mentions are read.
fn plain_blocks(text: &str) -> Vec<NewBlock> {
    paragraphs(text)
        .into_iter()
        .map(|paragraph| {
            let whole = paragraph.text();
            let text = if whole.contains(MENTION_START) {
                with_mentions(vec![Inline::text(whole)])
            } else {
                paragraph.pieces.into_iter().map(Inline::text).collect()
            };
            NewBlock::new(BlockKind::Paragraph, text)
        })
        .collect()
}

/// Merges neighbouring text of one style and link, then turns mention tokens into mentions.
pub(super) fn with_mentions(inlines: Vec<Inline>) -> Vec<Inline> {
    let mut merged: Vec<Inline> = Vec::new();
    for inline in inlines {
        if let (
            Some(Inline::Text {
                content,
                style,
                link,
            }),
            Inline::Text {
                content: next,
                style: next_style,
                link: next_link,
            },
        ) = (merged.last_mut(), &inline)
            && style == next_style
            && link == next_link
        {
            content.push_str(next);
            continue;
        }
        merged.push(inline);
    }
    let mut out = Vec::new();
    for inline in merged {
        let Inline::Text {
            content,
            style,
            link,
        } = inline
        else {
            out.push(inline);
            continue;
        };
        let mut rest = content.as_str();
        while let Some(start) = rest.find(MENTION_START) {
            let after = &rest[start + MENTION_START.len_utf8()..];
            let Some(end) = after.find(MENTION_END) else {
                break;
            };
            let Some((user_id, name)) = parse_mention(&after[..end]) else {
                break;
            };
            if start > 0 {
                out.push(Inline::Text {
                    content: rest[..start].to_string(),
                    style,
                    link: link.clone(),
                });
            }
            out.push(Inline::Mention { user_id, name });
            rest = &after[end + MENTION_END.len_utf8()..];
        }
        if !rest.is_empty() {
            out.push(Inline::Text {
                content: rest.to_string(),
                style,
                link: link.clone(),
            });
        }
    }
    out
}

/// Cuts texts into items of at most 2,000 units, blocks into blocks of at most 100 items,
/// children into arrays of at most 100 (the rest follow their parent); drops links Notion
/// would refuse.
pub fn within_limits(blocks: Vec<NewBlock>) -> Vec<NewBlock> {
    let mut out = Vec::new();
    for block in blocks {
        let NewBlock {
            kind,
            text,
            children,
        } = block;
        let mut items = Vec::new();
        for inline in text {
            match inline {
                Inline::Text {
                    content,
                    style,
                    link,
                } => {
                    let link = link.filter(|url| utf16_len(url) <= MAX_URL_UNITS);
                    for piece in split_pieces(&content) {
                        items.push(Inline::Text {
                            content: piece,
                            style,
                            link: link.clone(),
                        });
                    }
                }
                mention => items.push(mention),
            }
        }
        let mut children = within_limits(children);
        // Children a block cannot hold, or more than one request takes, follow it instead.
        let keep = if kind.takes_children() {
            MAX_BLOCKS_PER_REQUEST
        } else {
            0
        };
        let overflow = if children.len() > keep {
            children.split_off(keep)
        } else {
            Vec::new()
        };
        let mut chunks: Vec<Vec<Inline>> = items
            .chunks(MAX_RICH_TEXT_ITEMS)
            .map(<[Inline]>::to_vec)
            .collect();
        if chunks.is_empty() {
            chunks.push(Vec::new());
        }
        let last = chunks.len() - 1;
        for (index, chunk) in chunks.into_iter().enumerate() {
            let mut block = NewBlock::new(kind.clone(), chunk);
            if index == last {
                block.children = std::mem::take(&mut children);
            }
            out.push(block);
        }
        out.extend(overflow);
    }
    out
}

/// Groups blocks into append requests within the block-count and size limits.
pub fn batches(blocks: &[NewBlock]) -> Vec<&[NewBlock]> {
    let mut batches = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (index, block) in blocks.iter().enumerate() {
        let full = index - start == MAX_BLOCKS_PER_REQUEST;
        let too_big = index > start && bytes + block.bytes() > MAX_TEXT_BYTES_PER_REQUEST;
        if full || too_big {
            batches.push(&blocks[start..index]);
            start = index;
            bytes = 0;
        }
        bytes += block.bytes();
    }
    if start < blocks.len() {
        batches.push(&blocks[start..]);
    }
    batches
}

/// One line per block, children indented, for previews: the type, the text, and what is
/// styled or linked.
pub fn describe(blocks: &[NewBlock]) -> Vec<String> {
    let mut lines = Vec::new();
    for block in blocks {
        describe_one(block, 0, &mut lines);
    }
    lines
}

fn describe_one(block: &NewBlock, depth: usize, lines: &mut Vec<String>) {
    let indent = "  ".repeat(depth);
    let kind = match &block.kind {
        BlockKind::ToDo { checked: true } => "to_do [x]".to_string(),
        BlockKind::ToDo { checked: false } => "to_do [ ]".to_string(),
        BlockKind::Code { language } => format!("code ({language})"),
        other => other.type_name().to_string(),
    };
    let mut marks = Vec::new();
    for inline in &block.text {
        match inline {
            Inline::Text {
                content,
                style,
                link,
            } => {
                let mut names = Vec::new();
                for (on, name) in [
                    (style.bold, "bold"),
                    (style.italic, "italic"),
                    (style.strikethrough, "strikethrough"),
                    (style.code, "code"),
                ] {
                    if on {
                        names.push(name.to_string());
                    }
                }
                if let Some(url) = link {
                    names.push(format!("link {url}"));
                }
                if !names.is_empty() && !matches!(block.kind, BlockKind::Code { .. }) {
                    marks.push(format!("{content:?}: {}", names.join(", ")));
                }
            }
            Inline::Mention { user_id, name } => {
                marks.push(format!("@{name}: mention of user {user_id}"));
            }
        }
    }
    let marks = if marks.is_empty() {
        String::new()
    } else {
        format!("  ({})", marks.join("; "))
    };
    lines.push(format!("{indent}{kind}: {:?}{marks}", block.plain_text()));
    for child in &block.children {
        describe_one(child, depth + 1, lines);
    }
}

#[cfg(test)]
mod tests;
