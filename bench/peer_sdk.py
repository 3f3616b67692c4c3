"""The peer in BENCHMARKS.md: a full sync written on the official Python SDK.

What a competent user writes: `notion-client` from PyPI, `iterate_paginated_api` over the data
source query, one upsert per page into sqlite3, committed at the end. It mirrors less than
tasksync does (no change history, no completion of people/relation values truncated at 25, no
pacing), which favours the peer.

    NOTION_TOKEN=... NOTION_BASE_URL=http://127.0.0.1:7878 python peer_sdk.py DATA_SOURCE_ID peer.db
    ... python peer_sdk.py --windowed DATA_SOURCE_ID peer.db

A query stops at Notion's 10,000-row cap (with `request_status` "incomplete", which
`iterate_paginated_api` does not look at): the plain script mirrors the first 10,000 tasks and
exits 0. `--windowed` is what the same user writes once they know: sorted by creation time, a
capped query is continued from the last creation time seen, de-duplicating by id (what
tasksync does), so it mirrors every task and the comparison is of the same work.
"""

import json
import os
import sqlite3
import sys

from notion_client import Client
from notion_client.helpers import iterate_paginated_api


def title_of(properties):
    for value in properties.values():
        if value["type"] == "title":
            return "".join(part["plain_text"] for part in value["title"])
    return ""


def status_of(properties):
    for value in properties.values():
        if value["type"] == "status" and value["status"]:
            return value["status"]["name"]
    return None


def windowed_pages(notion, data_source_id):
    """Every page, past the 10,000-row cap: windows by creation time."""
    seen = set()
    since = None
    while True:
        query = {"sorts": [{"timestamp": "created_time", "direction": "ascending"}]}
        if since is not None:
            query["filter"] = {"timestamp": "created_time", "created_time": {"on_or_after": since}}
        cursor, capped, last = None, False, None
        while True:
            if cursor is not None:
                query["start_cursor"] = cursor
            response = notion.data_sources.query(
                data_source_id=data_source_id, page_size=100, **query
            )
            capped |= (response.get("request_status") or {}).get("type") == "incomplete"
            for page in response["results"]:
                last = page["created_time"]
                if page["id"] not in seen:
                    seen.add(page["id"])
                    yield page
            if not response["has_more"]:
                break
            cursor = response["next_cursor"]
        if not capped or last is None or last == since:
            return
        since = last


def main():
    windowed = sys.argv[1] == "--windowed"
    data_source_id, path = sys.argv[1 + windowed], sys.argv[2 + windowed]
    notion = Client(auth=os.environ["NOTION_TOKEN"], base_url=os.environ["NOTION_BASE_URL"])
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, title TEXT, status TEXT,"
        " url TEXT, last_edited_time TEXT, properties_json TEXT)"
    )
    count = 0
    with db:
        pages = (
            windowed_pages(notion, data_source_id)
            if windowed
            else iterate_paginated_api(
                notion.data_sources.query, data_source_id=data_source_id, page_size=100
            )
        )
        for page in pages:
            properties = page["properties"]
            db.execute(
                "INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET"
                " title = excluded.title, status = excluded.status, url = excluded.url,"
                " last_edited_time = excluded.last_edited_time,"
                " properties_json = excluded.properties_json",
                (
                    page["id"],
                    title_of(properties),
                    status_of(properties),
                    page["url"],
                    page["last_edited_time"],
                    json.dumps(properties),
                ),
            )
            count += 1
    print(json.dumps({"tasks": count}))


if __name__ == "__main__":
    main()
