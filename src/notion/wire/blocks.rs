//! Blocks to create as Notion takes them (reference/block, reference/rich-text).

use serde_json::{Value, json};

use crate::notion::blocks::{BlockKind, Inline, NewBlock};

/// Where appended blocks go: the end of the page. The field depends on the API version.
#[derive(Clone, Copy, Debug)]
pub enum AppendPosition {
    /// 2025-09-03: no field means the end (the flat `after` is only for other positions).
    Implicit,
    /// 2026-03-11: `position: {"type": "end"}`.
    End,
}

/// The code languages Notion accepts in a code block: its validation error for any other lists
/// exactly these (reference/block, "Code"). Shared with the simulator as a fact of the wire.
pub const CODE_LANGUAGES: &[&str] = &[
    "abap",
    "abc",
    "agda",
    "arduino",
    "ascii art",
    "assembly",
    "bash",
    "basic",
    "bnf",
    "c",
    "c#",
    "c++",
    "clojure",
    "coffeescript",
    "coq",
    "css",
    "dart",
    "dhall",
    "diff",
    "docker",
    "ebnf",
    "elixir",
    "elm",
    "erlang",
    "f#",
    "flow",
    "fortran",
    "gherkin",
    "glsl",
    "go",
    "graphql",
    "groovy",
    "haskell",
    "hcl",
    "html",
    "idris",
    "java",
    "javascript",
    "json",
    "julia",
    "kotlin",
    "latex",
    "less",
    "lisp",
    "livescript",
    "llvm ir",
    "lua",
    "makefile",
    "markdown",
    "markup",
    "matlab",
    "mathematica",
    "mermaid",
    "nix",
    "notion formula",
    "objective-c",
    "ocaml",
    "pascal",
    "perl",
    "php",
    "plain text",
    "powershell",
    "prolog",
    "protobuf",
    "purescript",
    "python",
    "r",
    "racket",
    "reason",
    "ruby",
    "rust",
    "sass",
    "scala",
    "scheme",
    "scss",
    "shell",
    "smalltalk",
    "solidity",
    "sql",
    "swift",
    "toml",
    "typescript",
    "vb.net",
    "verilog",
    "vhdl",
    "visual basic",
    "webassembly",
    "xml",
    "yaml",
    "java/c/c++/c#",
];

/// The body of an append-block-children request.
pub fn append_body(blocks: &[NewBlock], position: AppendPosition) -> Value {
    let children: Vec<Value> = blocks.iter().map(block_json).collect();
    let mut body = json!({ "children": children });
    if let AppendPosition::End = position {
        body["position"] = json!({ "type": "end" });
    }
    body
}

/// A block to create as Notion takes it (reference/block): its type object holds the rich text,
/// the type's own fields and any children.
fn block_json(block: &NewBlock) -> Value {
    let kind = block.kind.type_name();
    let mut payload = match &block.kind {
        BlockKind::Divider => json!({}),
        _ => json!({ "rich_text": block.text.iter().map(inline_json).collect::<Vec<_>>() }),
    };
    match &block.kind {
        BlockKind::ToDo { checked } => payload["checked"] = json!(checked),
        BlockKind::Code { language } => payload["language"] = json!(language),
        _ => {}
    }
    if !block.children.is_empty() {
        payload["children"] = Value::Array(block.children.iter().map(block_json).collect());
    }
    json!({ "object": "block", "type": kind, kind: payload })
}

/// One rich text item to write (reference/rich-text): annotations only when not all default.
fn inline_json(inline: &Inline) -> Value {
    match inline {
        Inline::Text {
            content,
            style,
            link,
        } => {
            let mut item = json!({ "type": "text", "text": { "content": content } });
            if let Some(url) = link {
                item["text"]["link"] = json!({ "url": url });
            }
            if !style.is_plain() {
                item["annotations"] = json!({
                    "bold": style.bold,
                    "italic": style.italic,
                    "strikethrough": style.strikethrough,
                    "code": style.code,
                });
            }
            item
        }
        Inline::Mention { user_id, .. } => json!({
            "type": "mention",
            "mention": { "type": "user", "user": { "object": "user", "id": user_id } },
        }),
    }
}

/// The body of a create-page request: the parent data source, the properties (by id or name) and
/// the first blocks.
pub fn create_page_body(
    data_source: &crate::model::ids::NotionId,
    writes: &[(String, crate::model::PropertyWrite)],
    children: &[NewBlock],
) -> Result<Value, (String, String)> {
    let mut body = super::property_writes_json(writes)?;
    body["parent"] = json!({ "type": "data_source_id", "data_source_id": data_source.to_string() });
    body["children"] = Value::Array(children.iter().map(block_json).collect());
    Ok(body)
}

/// What tasksync reads of a created page.
#[derive(Debug, serde::Deserialize)]
pub struct WireCreated {
    pub id: String,
}
