use super::*;

fn text(content: &str) -> Inline {
    Inline::text(content)
}

fn styled(content: &str, style: Style) -> Inline {
    Inline::Text {
        content: content.into(),
        style,
        link: None,
    }
}

fn block(kind: BlockKind, text: Vec<Inline>) -> NewBlock {
    NewBlock::new(kind, text)
}

const BOLD: Style = Style {
    bold: true,
    italic: false,
    strikethrough: false,
    code: false,
};

#[test]
fn markdown_becomes_notion_blocks() {
    let markdown = "# Escalated\n\n## Why\n\n### Details\n\n#### Deeper\n\nFirst line\nsecond line\n\n- one\n- two\n\n1. first\n2. second\n\n- [ ] open\n- [x] closed\n\n> quoted\n> still\n\n```rust\nfn main() {}\n```\n\n---\n\n    indented code\n";
    let blocks = blocks_of(markdown, TextFormat::Markdown);
    let expected = vec![
        block(BlockKind::Heading(1), vec![text("Escalated")]),
        block(BlockKind::Heading(2), vec![text("Why")]),
        block(BlockKind::Heading(3), vec![text("Details")]),
        block(BlockKind::Heading(3), vec![text("Deeper")]),
        block(BlockKind::Paragraph, vec![text("First line\nsecond line")]),
        block(BlockKind::BulletedListItem, vec![text("one")]),
        block(BlockKind::BulletedListItem, vec![text("two")]),
        block(BlockKind::NumberedListItem, vec![text("first")]),
        block(BlockKind::NumberedListItem, vec![text("second")]),
        block(BlockKind::ToDo { checked: false }, vec![text("open")]),
        block(BlockKind::ToDo { checked: true }, vec![text("closed")]),
        block(BlockKind::Quote, vec![text("quoted\nstill")]),
        block(
            BlockKind::Code {
                language: "rust".into(),
            },
            vec![text("fn main() {}")],
        ),
        block(BlockKind::Divider, vec![]),
        block(
            BlockKind::Code {
                language: "plain text".into(),
            },
            vec![text("indented code")],
        ),
    ];
    assert_eq!(blocks, expected);
}

#[test]
fn inline_styles_become_annotations_and_links() {
    let blocks = blocks_of(
        "Plain **bold** *italic* ~~gone~~ `code` ***both*** [a link](https://example.com/x) [relative](docs/x) <https://auto.example>",
        TextFormat::Markdown,
    );
    let italic = Style {
        italic: true,
        ..Style::default()
    };
    let link = |content: &str, url: &str| Inline::Text {
        content: content.into(),
        style: Style::default(),
        link: Some(url.into()),
    };
    assert_eq!(
        blocks[0].text,
        vec![
            text("Plain "),
            styled("bold", BOLD),
            text(" "),
            styled("italic", italic),
            text(" "),
            styled(
                "gone",
                Style {
                    strikethrough: true,
                    ..Style::default()
                }
            ),
            text(" "),
            styled(
                "code",
                Style {
                    code: true,
                    ..Style::default()
                }
            ),
            text(" "),
            styled(
                "both",
                Style {
                    bold: true,
                    italic: true,
                    ..Style::default()
                }
            ),
            text(" "),
            link("a link", "https://example.com/x"),
            // A relative target is no URL Notion takes: the text stays, unlinked.
            text(" relative "),
            link("https://auto.example", "https://auto.example"),
        ]
    );
}

#[test]
fn nested_lists_become_children_of_their_top_level_item_in_order() {
    let blocks = blocks_of(
        "- parent\n  - child\n    - grandchild\n  - second child\n- next\n",
        TextFormat::Markdown,
    );
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0].plain_text(), "parent");
    let children: Vec<String> = blocks[0]
        .children
        .iter()
        .map(NewBlock::plain_text)
        .collect();
    assert_eq!(children, ["child", "grandchild", "second child"]);
    assert!(blocks[0].children.iter().all(|c| c.children.is_empty()));
    assert_eq!(blocks[1].plain_text(), "next");
}

#[test]
fn plain_text_stays_paragraphs_and_reads_no_markdown() {
    let blocks = blocks_of("# not a heading\n\n**not bold**", TextFormat::Plain);
    assert_eq!(
        blocks,
        vec![
            block(BlockKind::Paragraph, vec![text("# not a heading")]),
            block(BlockKind::Paragraph, vec![text("**not bold**")]),
        ]
    );
}

#[test]
fn mention_tokens_become_user_mentions_in_both_formats() {
    let token = mention_token("6f1c2a5e-1111-4222-a333-444455556666", "Ada *Love* <lace>");
    for format in [TextFormat::Markdown, TextFormat::Plain] {
        let blocks = blocks_of(&format!("Over to {token}, please."), format);
        assert_eq!(
            blocks[0].text,
            vec![
                text("Over to "),
                Inline::Mention {
                    user_id: "6f1c2a5e-1111-4222-a333-444455556666".into(),
                    name: "Ada *Love* <lace>".into(),
                },
                text(", please."),
            ],
            "{format:?}"
        );
        assert_eq!(
            blocks[0].plain_text(),
            "Over to @Ada *Love* <lace>, please."
        );
    }
    // A broken token is kept as text.
    let broken = format!("{MENTION_START}not an id{MENTION_END}");
    let blocks = blocks_of(&broken, TextFormat::Plain);
    assert_eq!(blocks[0].text, vec![text(&broken)]);
}

#[test]
fn limits_cut_text_items_and_blocks() {
    let long = "x".repeat(crate::notion::text::MAX_TEXT_UNITS * 150);
    let blocks = blocks_of(&format!("## {long}"), TextFormat::Markdown);
    assert_eq!(blocks.len(), 2);
    assert!(blocks.iter().all(|b| b.kind == BlockKind::Heading(2)));
    assert_eq!(blocks[0].text.len(), 100);
    assert_eq!(blocks[1].text.len(), 50);
    let joined: String = blocks.iter().map(NewBlock::plain_text).collect();
    assert_eq!(joined, long);

    // 150 nested items: 100 stay children, the rest follow their parent.
    let list: String = std::iter::once("- parent\n".to_string())
        .chain((0..150).map(|i| format!("  - item {i}\n")))
        .collect();
    let blocks = blocks_of(&list, TextFormat::Markdown);
    assert_eq!(blocks[0].children.len(), 100);
    assert_eq!(blocks.len(), 51);
    assert_eq!(blocks[50].plain_text(), "item 149");
}

#[test]
fn batches_respect_block_count_and_size() {
    let many: Vec<NewBlock> = (0..250)
        .map(|i| block(BlockKind::Paragraph, vec![text(&format!("line {i}"))]))
        .collect();
    let sizes: Vec<usize> = batches(&many).iter().map(|b| b.len()).collect();
    assert_eq!(sizes, [100, 100, 50]);
    let piece = "y".repeat(crate::notion::text::MAX_TEXT_UNITS);
    let big: Vec<NewBlock> = (0..3)
        .map(|_| block(BlockKind::Paragraph, vec![text(&piece); 60]))
        .collect();
    let sizes: Vec<usize> = batches(&big).iter().map(|b| b.len()).collect();
    assert_eq!(sizes, [2, 1]);
    assert!(batches(&[]).is_empty());
}

#[test]
fn a_block_read_back_matches_by_type_and_text_with_any_mentioned_name() {
    let read = |kind: &str, text: &str| Block {
        id: "b".into(),
        kind: kind.into(),
        text: text.into(),
        has_children: false,
    };
    let mention = Inline::Mention {
        user_id: "u1".into(),
        name: "Ada".into(),
    };
    let expected = block(
        BlockKind::BulletedListItem,
        vec![text("ask "), mention.clone(), text(" today")],
    );
    assert!(expected.matches(&read("bulleted_list_item", "ask @Ada Lovelace today")));
    assert!(!expected.matches(&read("paragraph", "ask @Ada today")));
    assert!(!expected.matches(&read("bulleted_list_item", "ask Ada today")));
    assert!(!expected.matches(&read("bulleted_list_item", "ask @Ada today!")));
    // A name holding the text that follows it (a space here) still matches.
    let spaced = block(
        BlockKind::Paragraph,
        vec![
            text("ask "),
            mention.clone(),
            text(" "),
            styled("today", BOLD),
        ],
    );
    assert!(spaced.matches(&read("paragraph", "ask @Grace Brewster Hopper today")));
    assert!(!spaced.matches(&read("paragraph", "ask @Grace Hopper tomorrow")));
    let trailing = block(BlockKind::Paragraph, vec![text("cc "), mention]);
    assert!(trailing.matches(&read("paragraph", "cc @Grace")));
    assert!(block(BlockKind::Divider, vec![]).matches(&read("divider", "")));
}

#[test]
fn hostile_markdown_never_panics_and_keeps_its_text() {
    for input in [
        "",
        "*",
        "**",
        "[",
        "](",
        "- ",
        "> ",
        "```",
        "```\n",
        "# ",
        "- [ ]",
        "\u{0}",
        "<div>html</div>",
        "| a | b |\n| - | - |\n| 1 | 2 |",
        "![alt](https://example.com/i.png)",
        "[^1]\n\n[^1]: note",
        "\u{E000}\u{E001}",
        "> - > - > deep\n>\n> > > deeper",
    ] {
        let blocks = blocks_of(input, TextFormat::Markdown);
        let _ = describe(&blocks);
        for block in &blocks {
            assert!(block.text.len() <= 100);
        }
    }
    let blocks = blocks_of("<div>html</div>", TextFormat::Markdown);
    assert!(blocks[0].plain_text().contains("html"));
}
