"""No import circle anywhere in tfxd, function-level and type-checking imports included (the
layer contracts in .importlinter hold only between packages)."""

from __future__ import annotations

import grimp


def test_no_module_imports_itself_through_others():
    graph = grimp.build_graph("tfxd", cache_dir=None)
    circles = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported != module and graph.chain_exists(importer=imported, imported=module):
                chain = graph.find_shortest_chain(importer=imported, imported=module)
                circles.append(" → ".join([module, *chain]))
    assert not circles, "import circles:\n" + "\n".join(circles)
