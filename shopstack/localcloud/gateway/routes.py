"""Routing: the deployed resources as a tree, matched segment by segment (literal parts win over
`{param}`, which wins over `{proxy+}`), and the probe paths that wait for every route at start."""

from __future__ import annotations

from collections.abc import Iterable

from shopstack.localcloud.gateway.model import Node, Resource

PROBE_VALUE = "PROBE"


def build_tree(resources: Iterable[Resource]) -> Node:
    root = Node()
    for resource in resources:
        node = root
        parts = [part for part in resource.path.split("/") if part]
        for index, part in enumerate(parts):
            if part.startswith("{") and part.endswith("+}"):
                if index == len(parts) - 1:
                    node.greedy = (part[1:-2], resource)
                break
            if part.startswith("{") and part.endswith("}"):
                if node.param is None:
                    node.param = (part[1:-1], Node())
                node = node.param[1]
            else:
                node = node.literals.setdefault(part, Node())
        else:
            node.resource = resource
    return root


def match_route(node: Node, segments: list[str], index: int = 0) -> tuple[Resource, dict[str, str]] | None:
    """The resource for a path: literal parts win over `{param}`, which wins over `{proxy+}`."""
    if index == len(segments):
        if node.resource is not None and node.resource.methods:
            return node.resource, {}
        return None
    segment = segments[index]
    child = node.literals.get(segment)
    if child is not None:
        found = match_route(child, segments, index + 1)
        if found is not None:
            return found
    if node.param is not None:
        name, child = node.param
        found = match_route(child, segments, index + 1)
        if found is not None:
            found[1][name] = segment
            return found
    if node.greedy is not None and node.greedy[1].methods:
        name, resource = node.greedy
        return resource, {name: "/".join(segments[index:])}
    return None


def probe_path(resource_path: str) -> str:
    parts = []
    for part in resource_path.split("/"):
        parts.append(PROBE_VALUE if part.startswith("{") and part.endswith("}") else part)
    return "/".join(parts) or "/"
