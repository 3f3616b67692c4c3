//! Markdown to Notion blocks, with pulldown-cmark (CommonMark plus strikethrough and task
//! lists). Pure.
//!
//! Blocks: paragraphs, headings (`####` and deeper become `heading_3`: Notion has three
//! levels), bulleted and numbered list items, to-dos (`- [ ]`, `- [x]`), quotes, fenced and
//! indented code (the fence's language mapped to one Notion knows, else `plain text`) and
//! dividers. Inline: bold, italic, strikethrough, code, links (absolute `http`, `https` and
//! `mailto` URLs; other targets stay text). A line break inside a paragraph is kept, as people
//! writing a note expect. Anything else (HTML, tables, images) is written as its text; nothing is
//! dropped. Blocks nested deeper than Notion takes in one request (two levels) become children
//! of their top-level block, in order.

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

use super::blocks::{BlockKind, Inline, NewBlock, Style, with_mentions};

/// The blocks of a Markdown text (before Notion's size limits are applied).
pub fn blocks(text: &str) -> Vec<NewBlock> {
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut builder = Builder::default();
    for event in Parser::new_ext(text, options) {
        builder.event(event);
    }
    builder.finish()
}

/// Where a block sits: its index among the top-level blocks, and among that block's children.
type Path = (usize, Option<usize>);

#[derive(Clone, Copy)]
enum ContainerKind {
    Item,
    Quote,
}

struct Container {
    kind: ContainerKind,
    path: Path,
    /// Whether its own text has begun (a list item's first paragraph is its text).
    has_text: bool,
}

#[derive(Default)]
struct Builder {
    out: Vec<NewBlock>,
    containers: Vec<Container>,
    /// The block inline text goes to now.
    target: Option<Path>,
    /// Whether each open list is numbered.
    lists: Vec<bool>,
    bold: u32,
    italic: u32,
    strikethrough: u32,
    links: Vec<Option<String>>,
    in_code_block: bool,
}

impl Builder {
    fn block_mut(&mut self, (top, child): Path) -> &mut NewBlock {
        let block = &mut self.out[top];
        match child {
            Some(child) => &mut block.children[child],
            None => block,
        }
    }

    /// Places a new block: at the top level, or as a child of the open top-level container.
    fn place(&mut self, kind: BlockKind) -> Path {
        let block = NewBlock::new(kind, Vec::new());
        match self.containers.first() {
            None => {
                self.out.push(block);
                (self.out.len() - 1, None)
            }
            Some(container) => {
                let top = container.path.0;
                let children = &mut self.out[top].children;
                children.push(block);
                (top, Some(children.len() - 1))
            }
        }
    }

    fn style(&self) -> Style {
        Style {
            bold: self.bold > 0,
            italic: self.italic > 0,
            strikethrough: self.strikethrough > 0,
            code: false,
        }
    }

    /// The block text goes to: the current one, the open container's own text, or a new
    /// paragraph.
    fn text_target(&mut self) -> Path {
        if let Some(path) = self.target {
            return path;
        }
        let path = match self.containers.last_mut() {
            Some(container) if !container.has_text => {
                container.has_text = true;
                container.path
            }
            _ => self.place(BlockKind::Paragraph),
        };
        self.target = Some(path);
        path
    }

    fn push(&mut self, content: &str, code: bool) {
        if content.is_empty() {
            return;
        }
        let path = self.text_target();
        let style = Style {
            code,
            ..self.style()
        };
        let link = self.links.iter().rev().find_map(Clone::clone);
        let in_code_block = self.in_code_block;
        let block = self.block_mut(path);
        block.text.push(Inline::Text {
            content: content.to_string(),
            style: if in_code_block {
                Style::default()
            } else {
                style
            },
            link: if in_code_block { None } else { link },
        });
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => self.push(&text, false),
            Event::Code(text) => self.push(&text, true),
            Event::Html(text) | Event::InlineHtml(text) => self.push(&text, false),
            Event::InlineMath(text) | Event::DisplayMath(text) => self.push(&text, false),
            Event::FootnoteReference(label) => self.push(&format!("[^{label}]"), false),
            Event::SoftBreak | Event::HardBreak => self.push("\n", false),
            Event::Rule => {
                self.target = None;
                self.place(BlockKind::Divider);
            }
            Event::TaskListMarker(checked) => {
                if let Some(container) = self.containers.last()
                    && let ContainerKind::Item = container.kind
                {
                    let path = container.path;
                    self.block_mut(path).kind = BlockKind::ToDo { checked };
                }
            }
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => {
                // A quote's later paragraphs continue its text on a new line.
                if let Some(container) = self.containers.last()
                    && let ContainerKind::Quote = container.kind
                    && container.has_text
                {
                    let path = container.path;
                    self.block_mut(path).text.push(Inline::text("\n"));
                    self.target = Some(path);
                    return;
                }
                self.target = None;
                self.text_target();
            }
            Tag::Heading { level, .. } => {
                let level = (level as u8).min(3);
                self.target = Some(self.place(BlockKind::Heading(level)));
            }
            Tag::BlockQuote(_) => {
                self.target = None;
                let path = self.place(BlockKind::Quote);
                self.containers.push(Container {
                    kind: ContainerKind::Quote,
                    path,
                    has_text: false,
                });
            }
            Tag::CodeBlock(kind) => {
                let language = match kind {
                    CodeBlockKind::Fenced(info) => language(&info),
                    CodeBlockKind::Indented => "plain text",
                };
                self.target = Some(self.place(BlockKind::Code {
                    language: language.to_string(),
                }));
                self.in_code_block = true;
            }
            Tag::List(start) => {
                self.target = None;
                self.lists.push(start.is_some());
            }
            Tag::Item => {
                self.target = None;
                let kind = if self.lists.last().copied().unwrap_or(false) {
                    BlockKind::NumberedListItem
                } else {
                    BlockKind::BulletedListItem
                };
                let path = self.place(kind);
                self.containers.push(Container {
                    kind: ContainerKind::Item,
                    path,
                    has_text: false,
                });
            }
            Tag::Emphasis => self.italic += 1,
            Tag::Strong => self.bold += 1,
            Tag::Strikethrough => self.strikethrough += 1,
            Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
                self.links.push(absolute_url(&dest_url));
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph | TagEnd::Heading(_) => self.target = None,
            TagEnd::CodeBlock => {
                if let Some(path) = self.target.take() {
                    let block = self.block_mut(path);
                    // The fence's last line break is not part of the code.
                    if let Some(Inline::Text { content, .. }) = block.text.last_mut()
                        && content.ends_with('\n')
                    {
                        content.pop();
                        if content.is_empty() {
                            block.text.pop();
                        }
                    }
                }
                self.in_code_block = false;
            }
            TagEnd::BlockQuote(_) | TagEnd::Item => {
                self.containers.pop();
                self.target = None;
            }
            TagEnd::List(_) => {
                self.lists.pop();
                self.target = None;
            }
            TagEnd::Emphasis => self.italic = self.italic.saturating_sub(1),
            TagEnd::Strong => self.bold = self.bold.saturating_sub(1),
            TagEnd::Strikethrough => self.strikethrough = self.strikethrough.saturating_sub(1),
            TagEnd::Link | TagEnd::Image => {
                self.links.pop();
            }
            _ => {}
        }
    }

    fn finish(self) -> Vec<NewBlock> {
        self.out
            .into_iter()
            .map(|mut block| {
                block.text = with_mentions(block.text);
                for child in &mut block.children {
                    child.text = with_mentions(std::mem::take(&mut child.text));
                }
                block
            })
            .collect()
    }
}

/// A link target Notion takes: an absolute `http`, `https` or `mailto` URL.
fn absolute_url(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    matches!(parsed.scheme(), "http" | "https" | "mailto").then(|| url.to_string())
}

/// The Notion language of a fence's info string (`rust`, `js`, `sh`, ...); `plain text` when
/// Notion knows none by that name.
fn language(info: &str) -> &'static str {
    let word = info.split_whitespace().next().unwrap_or("").to_lowercase();
    let alias = match word.as_str() {
        "" | "text" | "txt" | "plain" | "plaintext" => "plain text",
        "sh" | "zsh" | "console" => "shell",
        "js" | "jsx" | "node" | "mjs" => "javascript",
        "ts" | "tsx" => "typescript",
        "py" | "python3" => "python",
        "rs" => "rust",
        "rb" => "ruby",
        "yml" => "yaml",
        "md" => "markdown",
        "cpp" | "cxx" | "cc" | "hpp" => "c++",
        "cs" | "csharp" => "c#",
        "fs" | "fsharp" => "f#",
        "golang" => "go",
        "dockerfile" => "docker",
        "kt" => "kotlin",
        "tex" => "latex",
        "make" => "makefile",
        "ps1" | "pwsh" => "powershell",
        "tf" | "terraform" => "hcl",
        "objc" => "objective-c",
        "ex" | "exs" => "elixir",
        "hs" => "haskell",
        "proto" => "protobuf",
        other => other,
    };
    super::wire::CODE_LANGUAGES
        .iter()
        .find(|known| **known == alias)
        .copied()
        .unwrap_or("plain text")
}
