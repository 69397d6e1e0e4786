"""RFC 6962 Merkle tree against the test vectors of transparency-dev/merkle (proof/verify_test.go),
which are the RFC's reference tree over eight leaves."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineage import merkle

LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]
# ROOTS[n - 1] is the root of the tree over the first n leaves.
ROOTS = [bytes.fromhex(h) for h in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]
# (leaf index counted from 1 as in the vectors, tree size, proof)
INCLUSION = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (2, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]
LEAF_HASHES = [merkle.leaf_hash(leaf) for leaf in LEAVES]


def test_empty_tree_root_is_hash_of_nothing():
    assert merkle.root([]).hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_rfc6962_vectors(size):
    assert merkle.root(LEAF_HASHES[:size]) == ROOTS[size - 1]


@pytest.mark.parametrize(("leaf", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_vectors_and_verify(leaf, size, proof):
    expected = [bytes.fromhex(h) for h in proof]
    assert merkle.inclusion_proof(leaf - 1, LEAF_HASHES[:size]) == expected
    assert merkle.verify_inclusion(leaf - 1, size, LEAF_HASHES[leaf - 1], expected, ROOTS[size - 1])


@pytest.mark.parametrize(("leaf", "size", "proof"), [v for v in INCLUSION if v[2]])
def test_corrupted_inclusion_proofs_fail(leaf, size, proof):
    good = [bytes.fromhex(h) for h in proof]
    index, root, lh = leaf - 1, ROOTS[size - 1], LEAF_HASHES[leaf - 1]
    assert not merkle.verify_inclusion(index + 1, size, lh, good, root)
    assert not merkle.verify_inclusion(index, size * 2, lh, good, root)
    assert not merkle.verify_inclusion(index, size, merkle.leaf_hash(b"wrong"), good, root)
    assert not merkle.verify_inclusion(index, size, lh, [*good, root], root)
    assert not merkle.verify_inclusion(index, size, lh, good[:-1], root)
    for i in range(len(good)):
        flipped = list(good)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        assert not merkle.verify_inclusion(index, size, lh, flipped, root)


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_proofs_match_vectors_and_verify(old, new, proof):
    expected = [bytes.fromhex(h) for h in proof]
    assert merkle.consistency_proof(old, LEAF_HASHES[:new]) == expected
    assert merkle.verify_consistency(old, new, ROOTS[old - 1], ROOTS[new - 1], expected)


@pytest.mark.parametrize(("old", "new", "proof"), [v for v in CONSISTENCY if v[2]])
def test_corrupted_consistency_proofs_fail(old, new, proof):
    good = [bytes.fromhex(h) for h in proof]
    r1, r2 = ROOTS[old - 1], ROOTS[new - 1]
    assert not merkle.verify_consistency(old - 1, new, r1, r2, good)
    assert not merkle.verify_consistency(old + 1, new, r1, r2, good)
    assert not merkle.verify_consistency(old, new * 2, r1, r2, good)
    assert not merkle.verify_consistency(old, new, r2, r1, good)
    assert not merkle.verify_consistency(old, new, r1, r2, [])
    assert not merkle.verify_consistency(old, new, r1, r2, good[:-1])
    assert not merkle.verify_consistency(old, new, r1, r2, [*good, r1])
    for i in range(len(good)):
        flipped = list(good)
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        assert not merkle.verify_consistency(old, new, r1, r2, flipped)


def test_trivial_consistency_cases():
    r = ROOTS[0]
    assert merkle.verify_consistency(0, 3, b"", ROOTS[2], [])
    assert merkle.verify_consistency(1, 1, r, r, [])
    assert not merkle.verify_consistency(1, 1, r, ROOTS[1], [])
    assert not merkle.verify_consistency(2, 1, ROOTS[1], r, [])
    assert not merkle.verify_consistency(0, 1, r, r, [merkle.EMPTY_ROOT])


@given(st.lists(st.binary(max_size=8), min_size=1, max_size=40), st.data())
def test_every_proof_of_random_trees_verifies(leaves, data):
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    n = len(hashes)
    index = data.draw(st.integers(0, n - 1))
    old = data.draw(st.integers(1, n))
    full_root = merkle.root(hashes)
    proof = merkle.inclusion_proof(index, hashes)
    assert merkle.verify_inclusion(index, n, hashes[index], proof, full_root)
    cproof = merkle.consistency_proof(old, hashes)
    assert merkle.verify_consistency(old, n, merkle.root(hashes[:old]), full_root, cproof)
