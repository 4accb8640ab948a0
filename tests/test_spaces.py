"""Spaces: every produced architecture validates, text forms round-trip, keys respect isomorphism."""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nasnb.spaces import (
    EDGES,
    CellSpace,
    ChainSpace,
    HyperSpace,
    InvalidArchitectureError,
    ProductSpace,
    get_space,
    space_from_config,
    space_to_config,
)

SPACES = {
    "cell": CellSpace(),
    "chain": ChainSpace(),
    "mlp": ChainSpace(layer_types=("fc",), max_layers=3),
    "hyper": HyperSpace(),
    "cell+hyper": get_space("cell+hyper"),
    "chain+hyper": get_space("chain+hyper"),
}
seeds = st.integers(0, 2**32 - 1)
names = st.sampled_from(sorted(SPACES))


@given(names, seeds)
def test_sampled_architectures_validate_and_round_trip(name, seed):
    space = SPACES[name]
    arch = space.sample(seed)
    assert space.validate(dict(arch)) == arch
    assert space.parse(str(arch)) == arch
    assert str(space.parse(str(arch))) == str(arch)
    assert json.loads(json.dumps(dict(arch))) == dict(arch)
    assert arch in space


@given(names, seeds)
def test_mutation_changes_exactly_the_reported_decision(name, seed):
    space = SPACES[name]
    rng = np.random.default_rng(seed)
    parent = space.sample(rng)
    child, change = space.mutate(parent, rng)
    assert child in space and child != parent
    assert change["kind"] == "mutation"
    assert parent[change["decision"]] == change["from"]
    assert child[change["decision"]] == change["to"]
    untouched = set(parent) & set(child) - {change["decision"]} - set(change.get("also_changed", {}))
    assert all(parent[k] == child[k] for k in untouched)


@given(names, seeds)
def test_crossover_child_takes_each_decision_from_a_parent(name, seed):
    space = SPACES[name]
    rng = np.random.default_rng(seed)
    a, b = space.sample(rng), space.sample(rng)
    child, record = space.crossover(a, b, rng)
    assert child in space
    for key in record["from_a"]:
        assert child[key] == a[key]
    for key in record["from_b"]:
        assert child[key] == b[key]
    assert set(record["from_a"]) | set(record["from_b"]) | set(record["random"]) == set(child)


@given(names, seeds)
def test_neighbors_are_one_decision_away_and_valid(name, seed):
    space = SPACES[name]
    arch = space.sample(seed)
    for n in space.neighbors(arch)[:40]:
        assert n in space and n != arch
    encodings = {tuple(space.encode(n)) for n in space.neighbors(arch)}
    assert tuple(space.encode(arch)) not in encodings


@given(seeds)
def test_encoding_is_one_hot_per_active_decision(seed):
    space = SPACES["cell+hyper"]
    arch = space.sample(seed)
    vec = space.encode(arch)
    assert vec.shape == (len(space.encoding_names()),)
    assert vec.sum() == len(arch)


def test_cell_space_size_and_iteration():
    space = CellSpace()
    assert len(space) == 5**6
    assert len(list(space)) == 5**6
    assert len(CellSpace(ops=("none", "conv_3x3"))) == 2**6


def _relabel(arch, space):
    """Swap nodes 1 and 2 where that is a graph isomorphism (no edge between them)."""
    assert arch["1->2"] == "none"
    return space.validate(
        {**dict(arch), "0->1": arch["0->2"], "0->2": arch["0->1"], "1->3": arch["2->3"], "2->3": arch["1->3"]}
    )


@given(st.lists(st.sampled_from(CellSpace().ops), min_size=6, max_size=6))
def test_isomorphic_cells_share_a_canonical_key(ops):
    space = CellSpace()
    arch = space.validate(dict(zip(EDGES, ops))).replace({"1->2": "none"})
    assert _relabel(arch, space).key == arch.key


def test_canonical_key_merges_dead_and_skip_paths_but_not_different_functions():
    space = CellSpace()
    p = space.parse
    dead = p("|conv_3x3~0|+|conv_1x1~0|none~1|+|conv_3x3~0|none~1|none~2|")
    same = p("|avg_pool_3x3~0|+|none~0|none~1|+|conv_3x3~0|none~1|none~2|")
    assert dead.key == same.key == "conv_3x3(x)"
    skip = p("|skip_connect~0|+|none~0|none~1|+|none~0|conv_3x3~1|none~2|")
    assert skip.key == "conv_3x3(x)"
    assert p("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|").key == "zero"
    assert p("|conv_1x1~0|+|none~0|none~1|+|none~0|conv_3x3~1|none~2|").key != skip.key
    assert len({a.key for a in space}) == 4975


def test_one_instance_reached_twice_differs_from_two_parallel_instances():
    p = CellSpace().parse
    doubled = p("|conv_1x1~0|+|none~0|skip_connect~1|+|none~0|skip_connect~1|skip_connect~2|")
    parallel = p("|conv_1x1~0|+|conv_1x1~0|none~1|+|none~0|skip_connect~1|skip_connect~2|")
    assert doubled.key == "2*conv_1x1(x)"
    assert parallel.key == "conv_1x1(x)+conv_1x1(x)"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "3 nodes"),
        ("|conv_3x3~0|+|conv_3x3~0|conv_3x3~1|", "3 nodes"),
        ("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown operation 'conv_5x5'"),
        ("|conv_3x3~1|+|none~0|none~1|+|none~0|none~1|none~2|", "sources must be earlier"),
        ("|conv_3x3~0|+|none~0|+|none~0|none~1|none~2|", "node 2 needs 2"),
        ("conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "bars"),
        ("|conv_3x3|+|none~0|none~1|+|none~0|none~1|none~2|", "op~source"),
    ],
)
def test_malformed_cell_strings_name_the_problem(text, fragment):
    with pytest.raises(InvalidArchitectureError, match=fragment):
        CellSpace().parse(text)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("fc32-relu > conv3x3-16-relu", "not allowed here"),
        ("conv4x4-16-relu", "not allowed"),
        ("conv3x5-16-relu", "square"),
        ("conv3x3-relu", "needs a width"),
        ("fc32", "missing activation"),
        ("fc32-relu-bogus", "unknown token 'bogus'"),
        ("dense32-relu", "starts with"),
        ("fc32-swish", "'swish'"),
        ("fc32-relu > fc32-relu > fc32-relu > fc32-relu > fc32-relu", "depth"),
        ("   ", "expected a chain string"),
    ],
)
def test_malformed_chain_strings_name_the_problem(text, fragment):
    with pytest.raises(InvalidArchitectureError, match=fragment):
        ChainSpace().parse(text)


def test_chain_never_puts_spatial_layers_after_a_dense_one():
    space = ChainSpace(max_layers=6)
    rng = np.random.default_rng(0)
    for _ in range(300):
        layers = space.layers(space.sample(rng))
        types = [layer["type"] for layer in layers]
        if "fc" in types:
            assert all(t == "fc" for t in types[types.index("fc") :])


def test_chain_len_matches_enumeration_on_a_small_space():
    space = ChainSpace(
        max_layers=2,
        kernels=(3,),
        widths=(8,),
        activations=("relu",),
        batchnorm=(False,),
        dropouts=(0.0,),
        pools=("max", "avg"),
    )

    # walk every architecture by brute force
    def count(partial):
        d = space.next_decision(partial)
        return 1 if d is None else sum(count({**partial, d.name: o}) for o in d.options)

    assert count({}) == len(space)


def test_validate_reports_missing_extra_and_wrong_decisions():
    space = CellSpace()
    good = dict(space.sample(0))
    with pytest.raises(InvalidArchitectureError, match="missing decision '2->3'"):
        space.validate({k: v for k, v in good.items() if k != "2->3"})
    with pytest.raises(InvalidArchitectureError, match="unexpected decision"):
        space.validate({**good, "3->4": "none"})
    with pytest.raises(InvalidArchitectureError, match="'0->1' is 'maxpool'"):
        space.validate({**good, "0->1": "maxpool"})
    with pytest.raises(InvalidArchitectureError, match="mapping"):
        space.validate("not a mapping")


def test_hyper_and_product_parsing_errors():
    with pytest.raises(InvalidArchitectureError, match="unknown hyperparameter 'momentum'"):
        HyperSpace().parse("momentum=0.9")
    with pytest.raises(InvalidArchitectureError, match="must be a number"):
        HyperSpace().parse("lr=fast,batch_size=32,weight_decay=0.0,dropout=0.0")
    product = get_space("cell+hyper")
    with pytest.raises(InvalidArchitectureError, match="2 parts"):
        product.parse(str(CellSpace().sample(0)))
    with pytest.raises(InvalidArchitectureError, match="in part 'hp'"):
        product.parse(str(CellSpace().sample(0)) + " ; lr=7")


def test_unknown_space_and_colliding_products():
    with pytest.raises(ValueError, match="unknown space 'graph'"):
        get_space("graph")
    with pytest.raises(ValueError, match="appears in components"):
        _ = ProductSpace(a=CellSpace(), b=CellSpace()).choices


@pytest.mark.parametrize("name", sorted(SPACES))
def test_space_config_round_trip(name):
    space = SPACES[name]
    rebuilt = space_from_config(json.loads(json.dumps(space_to_config(space))))
    assert rebuilt == space
    arch = space.sample(3)
    assert rebuilt.parse(str(arch)) == rebuilt.validate(dict(arch))
