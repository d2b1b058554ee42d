"""Joins: the foreign-key graph of a schema and the cheapest join tree from a query's root table.

Following a foreign key from the referencing table (orders → customers) is many-to-one: each row
of the root keeps matching one row, so sums stay right. Walking a key backwards (orders →
order_items) multiplies rows ("fan-out"); such steps cost much more, so a path that stays on the
many-to-one side always wins, and `JoinTree.fans_out` tells the caller when none exists. A
nullable key costs a little more than a required one: an inner join on it drops rows (orders →
employees → regions loses the orders no employee took; orders → customers → regions does not).

The search is bounded so that it stays cheap on a schema of 1,000 tables: a path has at most
`MAX_JOINS` steps (farther tables count as unconnected), each root's paths are found once per
graph, and `costs_to` finds every table's cost *to* one table in a single search, where asking
each table in turn would search the whole graph from each.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from ...databases.base import DatabaseSchema

_FORWARD_COST = 10
_NULLABLE_COST = 1
_BACKWARD_COST = 1000
#: Join steps a path takes at most: the sample schemas need 5; a question whose tables are
#: farther apart than this is not answered by joining them.
MAX_JOINS = 6


@dataclass(frozen=True)
class Edge:
    """One join step: `table.column = other.other_column`."""

    table: str
    column: str
    other: str
    other_column: str
    #: True when `table` holds the foreign key (many rows of `table` per row of `other`).
    many_to_one: bool
    #: The foreign key may be NULL.
    nullable: bool = False

    @property
    def cost(self) -> int:
        extra = _NULLABLE_COST if self.nullable else 0
        return (_FORWARD_COST if self.many_to_one else _BACKWARD_COST) + extra


@dataclass(frozen=True)
class JoinTree:
    """The tables a query reads: the root plus join steps, each joining a new table."""

    root: str
    edges: tuple[Edge, ...]

    @property
    def tables(self) -> tuple[str, ...]:
        return (self.root, *(e.other for e in self.edges))

    @property
    def fans_out(self) -> bool:
        """True when some step walks a key backwards and may repeat the root's rows."""
        return any(not e.many_to_one for e in self.edges)


class JoinGraph:
    """The foreign keys of a schema, walkable both ways."""

    def __init__(self, schema: DatabaseSchema) -> None:
        self._edges: dict[str, list[Edge]] = {t.name: [] for t in schema.tables}
        #: Each step and the same key walked the other way.
        self._reverse: dict[Edge, Edge] = {}
        for table in schema.tables:
            for fk in table.foreign_keys:
                target = schema.table(fk.ref_table)
                if target is None:
                    continue
                ref_column = fk.ref_column or (target.primary_key or ["rowid"])[0]
                key = table.column(fk.column)
                nullable = key is None or key.nullable
                forward = Edge(table.name, fk.column, target.name, ref_column, True, nullable)
                backward = Edge(target.name, ref_column, table.name, fk.column, False, nullable)
                self._edges[table.name].append(forward)
                self._edges[target.name].append(backward)
                self._reverse[forward], self._reverse[backward] = backward, forward
        self._paths: dict[str, dict[str, tuple[int, tuple[Edge, ...]]]] = {}
        self._costs_to: dict[str, dict[str, int]] = {}

    def paths(self, root: str) -> dict[str, tuple[int, tuple[Edge, ...]]]:
        """Cheapest path from `root` to every table within `MAX_JOINS` steps, with its cost."""
        if root not in self._paths:
            self._paths[root] = self._dijkstra(root)
        return self._paths[root]

    def costs_to(self, target: str) -> dict[str, int]:
        """What joining `target` costs from each table that reaches it within `MAX_JOINS`
        steps: `cost(table, target)` for every table at once (a search from `target` along
        the reversed steps)."""
        if target not in self._costs_to:
            best = {target: 0}
            steps = {target: 0}
            queue: list[tuple[int, str]] = [(0, target)]
            while queue:
                cost, table = heapq.heappop(queue)
                if cost > best[table] or steps[table] >= MAX_JOINS:
                    continue
                # every step into `table` is the reverse of one of its own steps
                for edge in self._edges.get(table, ()):
                    step = self._reverse[edge]
                    new_cost = cost + step.cost
                    if step.table not in best or new_cost < best[step.table]:
                        best[step.table] = new_cost
                        steps[step.table] = steps[table] + 1
                        heapq.heappush(queue, (new_cost, step.table))
            self._costs_to[target] = best
        return self._costs_to[target]

    def _dijkstra(self, root: str) -> dict[str, tuple[int, tuple[Edge, ...]]]:
        best: dict[str, tuple[int, tuple[Edge, ...]]] = {root: (0, ())}
        queue: list[tuple[int, int, str]] = [(0, 0, root)]
        order = 0
        while queue:
            cost, _, table = heapq.heappop(queue)
            path = best[table][1]
            if cost > best[table][0] or len(path) >= MAX_JOINS:
                continue
            for edge in self._edges.get(table, ()):
                new_cost = cost + edge.cost
                if edge.other not in best or new_cost < best[edge.other][0]:
                    best[edge.other] = (new_cost, path + (edge,))
                    order += 1
                    heapq.heappush(queue, (new_cost, order, edge.other))
        return best

    def tree(self, root: str, tables: set[str]) -> JoinTree | None:
        """The union of the cheapest paths from `root` to `tables`, or None if one is unreachable."""
        paths = self.paths(root)
        edges: list[Edge] = []
        joined = {root}
        for table in sorted(tables, key=lambda t: (paths.get(t, (0, ()))[0], t)):
            if table not in paths:
                return None
            for edge in paths[table][1]:
                if edge.other not in joined:
                    joined.add(edge.other)
                    edges.append(edge)
        return JoinTree(root, tuple(edges))

    def children(self, table: str) -> list[tuple[str, str]]:
        """The tables whose foreign keys refer to `table`, with those keys' columns."""
        return [(e.other, e.other_column) for e in self._edges.get(table, ()) if not e.many_to_one]

    def cost(self, root: str, table: str) -> int | None:
        """What joining `table` to `root` costs, or None when no keys connect them (within
        `MAX_JOINS` steps)."""
        found = self.paths(root).get(table)
        return None if found is None else found[0]
