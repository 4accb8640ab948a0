"""nasnb.nn: every architecture of every space builds, runs and is costed correctly."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from nasnb.nn import (
    Cell,
    CellNetwork,
    ChainNetwork,
    Zero,
    build_model,
    count_macs,
    count_params,
    edge_key,
    edge_name,
    live_edges,
    make_op,
    network_settings,
)
from nasnb.spaces import EDGES, OPS, CellSpace, ChainSpace, HyperSpace, ProductSpace

FAST = settings(max_examples=15, deadline=None)
CELLS = CellSpace()
CHAINS = ChainSpace()
ALL_CONV = "|conv_3x3~0|+|conv_3x3~0|conv_3x3~1|+|conv_3x3~0|conv_3x3~1|conv_3x3~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


@pytest.mark.parametrize("op", OPS)
def test_every_op_keeps_the_shape(op):
    x = torch.randn(2, 4, 7, 7)
    assert make_op(op, 4)(x).shape == x.shape


def test_unknown_op_is_named():
    with pytest.raises(ValueError, match="sep_conv"):
        make_op("sep_conv", 4)


def test_all_none_cell_outputs_zeros_and_has_no_parameters():
    cell = Cell(CELLS.parse(ALL_NONE), channels=4)
    out = cell(torch.randn(2, 4, 8, 8))
    assert out.shape == (2, 4, 8, 8)
    assert torch.count_nonzero(out) == 0
    assert count_params(cell) == 0


def test_dead_edges_are_neither_computed_nor_parameterised():
    # node 1 gets a conv but feeds nothing; only 0->3 reaches the output
    dead = CELLS.parse("|conv_3x3~0|+|none~0|none~1|+|conv_1x1~0|none~1|none~2|")
    alone = CELLS.parse("|none~0|+|none~0|none~1|+|conv_1x1~0|none~1|none~2|")
    assert live_edges(dict(dead)) == ("0->3",)
    assert isinstance(Cell(dead, 4).edge_module("0->1"), Zero)
    assert count_params(Cell(dead, 4)) == count_params(Cell(alone, 4))
    assert dead.key == alone.key  # the space agrees that they are the same function


def test_edge_lookup_by_name_or_key_and_silencing_by_hook():
    cell = Cell(CELLS.parse("|none~0|+|none~0|none~1|+|conv_3x3~0|none~1|none~2|"), channels=4)
    assert [edge_name(edge_key(e)) for e in EDGES] == list(EDGES)
    assert cell.edge_module("0->3") is cell.edge_module("0_3") is cell.edges["0_3"]
    with pytest.raises(KeyError, match="0->1"):
        cell.edge_module("3->4")
    handle = cell.edge_module("0->3").register_forward_hook(lambda m, i, out: torch.zeros_like(out))
    assert torch.count_nonzero(cell(torch.randn(1, 4, 5, 5))) == 0
    handle.remove()


@FAST
@given(seed=st.integers(0, 10_000), shape=st.sampled_from([(1, 8, 8), (1, 28, 28), (3, 32, 32)]))
def test_sampled_cells_build_and_run(seed, shape):
    model = build_model(CELLS.sample(seed), shape, 10, channels=4, cells_per_stage=1, stages=2)
    assert model(torch.randn(2, *shape)).shape == (2, 10)


@FAST
@given(seed=st.integers(0, 10_000), shape=st.sampled_from([(1, 8, 8), (3, 32, 32)]))
def test_sampled_chains_build_and_run(seed, shape):
    model = build_model(CHAINS.sample(seed), shape, 10)
    assert model(torch.randn(2, *shape)).shape == (2, 10)


@FAST
@given(seed=st.integers(0, 10_000))
def test_fc_only_chains_run_on_vectors(seed):
    arch = ChainSpace(layer_types=("fc",)).sample(seed)
    assert build_model(arch, (2,), 2)(torch.randn(3, 2)).shape == (3, 2)


def test_spatial_chain_on_vectors_says_what_to_use():
    arch = CHAINS.parse("conv3x3-8-relu > fc16-relu")
    with pytest.raises(ValueError, match=r"L1.*layer_types=\(\"fc\",\)"):
        build_model(arch, (2,), 2)


def test_pool_on_a_1x1_map_is_identity():
    arch = ChainSpace(max_layers=5).parse("conv3x3-8-relu > maxpool > avgpool > maxpool > avgpool")
    model = build_model(arch, (1, 8, 8), 10)  # 8 -> 4 -> 2 -> 1, then nothing left to pool
    assert isinstance(model.layers.L4, nn.MaxPool2d) and isinstance(model.layers.L5, nn.Identity)
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    odd = build_model(arch, (1, 7, 7), 10)  # 7 -> 4 -> 2 -> 1 with ceil_mode
    assert odd.head[-1].in_features == 8 and odd(torch.randn(2, 1, 7, 7)).shape == (2, 10)


def test_chain_layers_follow_the_architecture():
    arch = CHAINS.parse("conv5x5-16-gelu-bn-drop0.1 > avgpool > fc32-tanh-bn")
    model = build_model(arch, (3, 32, 32), 10)
    conv, bn, act, drop = model.layers.L1
    assert (conv.kernel_size, conv.out_channels, conv.bias) == ((5, 5), 16, None)
    assert isinstance(bn, nn.BatchNorm2d) and isinstance(act, nn.GELU) and drop.p == 0.1
    assert model.layers.L3[1].in_features == 16 * 16 * 16


def test_cell_network_doubles_channels_per_stage_and_takes_any_image_size():
    arch = CELLS.parse(ALL_CONV)
    for size in range(1, 17):
        model = CellNetwork(arch, (1, size, size), 3, channels=4, stages=3)
        assert model(torch.randn(2, 1, size, size)).shape == (2, 3)
    assert model.head[-1].in_features == 16
    assert len(model.cells) == 3
    with pytest.raises(ValueError, match="fc"):
        CellNetwork(arch, (2,), 2)


def test_product_arch_builds_from_its_network_part_with_the_chosen_dropout():
    space = ProductSpace(arch=CellSpace(), hp=HyperSpace(dropout=(0.3,)))
    model = build_model(space.sample(0), (1, 8, 8), 10, channels=4)
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout)] == [0.3]
    with pytest.raises(ValueError, match="width"):
        build_model(CHAINS.sample(0), (1, 8, 8), 10, width=3)


def test_network_settings_name_every_option_the_built_network_used():
    assert network_settings(CELLS.sample(0)) == {"channels": 16, "cells_per_stage": 1, "stages": 2, "dropout": 0.0}
    assert network_settings(CELLS.sample(0), channels=4)["channels"] == 4
    assert network_settings(CHAINS.sample(0)) == {"dropout": 0.0}
    product = ProductSpace(arch=CellSpace(), hp=HyperSpace(dropout=(0.3,))).sample(0)
    assert network_settings(product, dropout=0.1)["dropout"] == 0.3  # the searched dropout wins, as in build_model
    # the full settings rebuild the same network as the defaults did
    torch.manual_seed(0)
    plain = build_model(CELLS.sample(1), (1, 8, 8), 10)
    torch.manual_seed(0)
    spelled = build_model(CELLS.sample(1), (1, 8, 8), 10, **network_settings(CELLS.sample(1)))
    assert all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), spelled.state_dict().values()))


def test_params_and_macs_of_hand_computable_models():
    linear = nn.Linear(10, 5)
    assert count_params(linear) == 55
    assert count_macs(linear, (10,)) == 50
    conv = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 16 * 16, 2))
    assert count_params(conv) == (8 * 3 * 9 + 8) + (8 * 256 * 2 + 2)
    assert count_macs(conv, (3, 16, 16)) == 16 * 16 * 8 * 3 * 9 + 8 * 256 * 2


def test_macs_count_only_executed_edges_and_restore_training_mode():
    one = build_model(
        CELLS.parse("|none~0|+|none~0|none~1|+|conv_3x3~0|none~1|none~2|"), (1, 8, 8), 10, channels=4, stages=1
    )
    assert count_macs(one, (1, 8, 8)) == 8 * 8 * 4 * 1 * 9 + 8 * 8 * 4 * 4 * 9 + 4 * 10
    one.train()
    count_macs(one, (1, 8, 8))
    assert all(m.training for m in one.modules())


def test_chain_network_rejects_cell_architectures():
    with pytest.raises(TypeError, match="ChainSpace"):
        ChainNetwork(CELLS.sample(0), (1, 8, 8), 10)
