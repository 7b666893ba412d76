"""The README's model, optimizer and reference tables are the registry's own declarations."""

from pathlib import Path

from implicit_bias.cli_components import all_descriptions, markdown_tables

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN, END = "<!-- components:begin -->", "<!-- components:end -->"


def test_readme_component_tables_are_generated_from_the_registries():
    text = README.read_text()
    assert BEGIN in text and END in text
    block = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    expected = markdown_tables(all_descriptions()).strip()
    assert block == expected, ("the README's component tables differ from the registries; regenerate them with "
                               "`implicit-bias describe --markdown` between the components markers")
