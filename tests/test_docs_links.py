"""README.md and docs/: the README stays short and every markdown link resolves."""

import re

from tests.conftest import ROOT


def test_readme_is_short_and_every_markdown_link_resolves():
    """README.md is the student's first page (under 12 KB); every relative link and image in it and in
    docs/**/*.md points to a file or folder that exists, every #anchor to a heading of its page (GitHub's
    slugs), and every page directly under docs/ is reachable from the README by links."""
    readme = (ROOT / "README.md").resolve()
    assert len(readme.read_bytes()) < 12_000, f"README.md is {len(readme.read_bytes())} bytes"
    pages = [readme, *sorted(p.resolve() for p in (ROOT / "docs").rglob("*.md"))]
    link = re.compile(
        r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)"
        r"|<(?:img|a)\b[^>]*?\b(?:src|href)=\"([^\"]+)\"",
        re.M,
    )

    def prose(text):  # fenced blocks and code spans are not links
        text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.M | re.S)
        return re.sub(r"(`+)(?!`).+?(?<!`)\1(?!`)", "", text)

    def anchors(page):
        seen = set()
        for heading in re.findall(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", prose(page.read_text()), re.M):
            base = re.sub(r"[^\w\- ]", "", re.sub(r"`", "", heading).strip().lower()).replace(" ", "-")
            slug, n = base, 1
            while slug in seen:
                slug, n = f"{base}-{n}", n + 1
            seen.add(slug)
        return seen

    broken, found, edges = [], 0, {}
    for page in pages:
        edges[page] = set()
        for groups in link.findall(prose(page.read_text())):
            target = next(g for g in groups if g)
            if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:
                continue
            found += 1
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            if not resolved.exists():
                broken.append(f"{page.name}: {target} (no such file)")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                broken.append(f"{page.name}: {target} (no heading #{anchor})")
            elif resolved.suffix == ".md":
                edges[page].add(resolved)
    assert found > 20 and not broken, "\n".join(broken)
    reached, todo = {readme}, [readme]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in reached:
                reached.add(nxt)
                todo.append(nxt)
    orphans = [p.name for p in sorted((ROOT / "docs").glob("*.md")) if p.resolve() not in reached]
    assert not orphans, f"docs pages no link from README.md leads to: {orphans}"
