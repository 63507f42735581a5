"""Work remembered across a process: a JSON Schema found valid, a template compiled. What
is remembered must never hide a change: an invalid schema is refused every time, and an
edited template renders its new text."""
from __future__ import annotations

import pytest
from jinja2 import Environment, FileSystemLoader

from engine.schema_check import SchemaError, check_schema
from web.template_cache import ProcessBytecodeCache


def test_a_valid_schema_passes_in_any_key_order_and_an_invalid_one_fails_each_time():
    schema = {"type": "object", "properties": {"note": {"type": "string", "maxLength": 20}}}
    check_schema(schema)
    check_schema(dict(reversed(list(schema.items()))))
    broken = {"type": "object", "properties": {"note": {"type": "text"}}}
    for _ in range(2):
        with pytest.raises(SchemaError) as refused:
            check_schema(broken)
        assert "text" in str(refused.value.message)


def test_a_template_edited_after_it_was_compiled_renders_its_new_text(tmp_path):
    cache = ProcessBytecodeCache()
    page = tmp_path / "page.html"
    page.write_text("Hello {{ name }}", encoding="utf-8")

    def render() -> str:
        environment = Environment(loader=FileSystemLoader(tmp_path), bytecode_cache=cache)
        return environment.get_template("page.html").render(name="Li Na")

    assert render() == "Hello Li Na"
    assert render() == "Hello Li Na"  # from the compiled code kept by the first environment
    page.write_text("Goodbye {{ name }}", encoding="utf-8")
    assert render() == "Goodbye Li Na"


def test_a_very_large_schema_is_still_checked_and_refused():
    long_text = "x" * 70_000
    valid = {"type": "object", "description": long_text}
    check_schema(valid)
    with pytest.raises(SchemaError):
        check_schema({**valid, "type": "textual"})
