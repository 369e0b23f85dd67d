"""Inclusion and consistency proofs (RFC 9162 2.1.3.1 and 2.1.4.1) from stored nodes.

Both follow the RFC's recursion top-down over the tree, remembering the subtree it leaves
aside at each split. A left subtree is always perfect, so it is one read; a right subtree
is ragged at most once per proof (afterwards the walk is inside a perfect subtree), and a
ragged subtree costs one read per set bit of its width. Proofs therefore cost O(log n)
reads. Hashes are returned bottom-up, the order the RFC's ``:`` concatenation produces.
"""

from __future__ import annotations

from crocevia_audit.domain.nodes import NodeReader, subtree_hash
from crocevia_common.tlog.merkle import split_point


def inclusion_proof(index: int, tree_size: int, reader: NodeReader) -> list[bytes]:
    """The audit path ``PATH(index, D[tree_size])`` for leaf ``index``.

    Requires ``0 <= index < tree_size`` (``ValueError`` otherwise) and a reader holding
    the perfect nodes of a tree of at least ``tree_size`` leaves.
    """
    if not 0 <= index < tree_size:
        raise ValueError(f"leaf index {index} is outside a tree of size {tree_size}")
    top_down: list[bytes] = []
    start, size = 0, tree_size
    while size > 1:
        k = split_point(size)
        if index - start < k:
            # PATH(m, D[0:k]) : MTH(D[k:n]) -- the right part may be ragged.
            top_down.append(subtree_hash(start + k, start + size, reader))
            size = k
        else:
            # PATH(m - k, D[k:n]) : MTH(D[0:k]) -- the left part is perfect.
            top_down.append(subtree_hash(start, start + k, reader))
            start, size = start + k, size - k
    return top_down[::-1]


def consistency_proof(old_size: int, new_size: int, reader: NodeReader) -> list[bytes]:
    """The proof ``PROOF(old_size, D[new_size])`` that the newer tree extends the older.

    Requires ``0 < old_size <= new_size`` (a proof from the empty tree proves nothing, so
    it is refused with ``ValueError``); equal sizes give the empty proof.
    """
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    top_down: list[bytes] = []
    # m is old_size relative to the current subtree [start, start + size);
    # whole_tree is the RFC's flag b: still on the path of the old tree's own root.
    m, start, size, whole_tree = old_size, 0, new_size, True
    while m != size:
        k = split_point(size)
        if m <= k:
            # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            top_down.append(subtree_hash(start + k, start + size, reader))
            size = k
        else:
            # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            top_down.append(subtree_hash(start, start + k, reader))
            m, start, size, whole_tree = m - k, start + k, size - k, False
    if not whole_tree:
        # SUBPROOF(m, D[m], false) = {MTH(D[m])}; this subtree is perfect (m == k above).
        top_down.append(subtree_hash(start, start + size, reader))
    return top_down[::-1]
