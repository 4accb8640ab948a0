"""int8 pooling by matrix product, and the packed deployment file (float32, int8, pruned, factorised) on digits."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from nasnb import CellSpace
from nasnb.compress import QuantizedPoolByMatmul, matmul_pooling, to_int8
from nasnb.compress.record import serialized_bytes
from nasnb.data import load_dataset
from nasnb.deploy.monitor import serving_function
from nasnb.deploy.packed import PackedFormatError, load_packed, model_description, pack, read_header, save_packed
from nasnb.deploy.packed_layers import build_layer, layer_changes, layer_spec
from nasnb.nn.batched_pool import PoolByMatmul
from tests.helpers.trained import ARCH, trained_cell

NETWORK = {"channels": 8}


@pytest.fixture(scope="module")
def data():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def models(data):
    fp32 = trained_cell()  # 8 channels, 4 epochs: about 0.9 test accuracy
    int8 = to_int8(fp32, data, calibration=128)
    description = model_description(CellSpace().parse(ARCH), data.input_shape, data.num_classes, **NETWORK)
    return fp32, int8, description


def _quantised(values, scale=0.5, zero_point=3):
    x = torch.tensor(values, dtype=torch.float32).view(1, 1, *torch.tensor(values).shape)
    return torch.quantize_per_tensor(x, scale, zero_point, torch.quint8)


def test_int8_pooling_by_hand():
    # a 3x3 map, 3x3 window, padding 1, padding not counted: corners average 4 pixels, edges 6, the centre 9
    x = _quantised([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.5]])
    pool = QuantizedPoolByMatmul(nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False))
    out = pool(x)
    # by hand, then on the int8 grid of step 0.5: 2.0, 2.5, 3.0 / 3.5, 4.0555.. -> 4.0, 4.5833.. -> 4.5 / ...
    want = [
        [(0 + 1 + 3 + 4) / 4, (0 + 1 + 2 + 3 + 4 + 5) / 6, (1 + 2 + 4 + 5) / 4],
        [(0 + 1 + 3 + 4 + 6 + 7) / 6, 36.5 / 9, (1 + 2 + 4 + 5 + 7 + 8.5) / 6],
        [(3 + 4 + 6 + 7) / 4, (3 + 4 + 5 + 6 + 7 + 8.5) / 6, (4 + 5 + 7 + 8.5) / 4],
    ]
    on_grid = [[round(v / 0.5) * 0.5 for v in row] for row in want]
    assert out.dequantize()[0, 0].tolist() == on_grid
    assert out.q_scale() == 0.5 and out.q_zero_point() == 3  # the input's, as torch's int8 pooling keeps
    assert torch.equal(out.int_repr(), pool.inner(x).int_repr())  # and the same numbers as torch's kernel here


def test_int8_pooling_matches_torch_within_one_step_and_keeps_channels_last():
    torch.manual_seed(0)
    x = torch.randn(4, 8, 8, 8).contiguous(memory_format=torch.channels_last)
    q = torch.quantize_per_tensor(x, 0.02, 128, torch.quint8)
    for inner in (nn.AvgPool2d(3, 1, 1, count_include_pad=False), nn.AvgPool2d(2, 2, ceil_mode=True)):
        ours, theirs = QuantizedPoolByMatmul(inner)(q), inner(q)
        assert ours.shape == theirs.shape and ours.is_contiguous(memory_format=torch.channels_last)
        assert (ours.int_repr().int() - theirs.int_repr().int()).abs().max() <= 1
    float_pool = nn.AvgPool2d(3, 1, 1)
    wide = torch.quantize_per_tensor(torch.randn(2, 16, 8, 8), 0.02, 128, torch.quint8)
    assert torch.equal(
        QuantizedPoolByMatmul(float_pool)(wide).int_repr(), float_pool(wide).int_repr()
    )  # torch's kernel

    assert torch.allclose(QuantizedPoolByMatmul(float_pool)(x), float_pool(x), atol=1e-6)  # float maps: PoolByMatmul


def test_matmul_pooling_swaps_every_pool_and_keeps_outputs(models, data):
    fp32, int8, _ = models
    swapped = matmul_pooling(fp32)

    def pool_parents(model):
        return {type(p) for p in model.modules() for c in p.children() if isinstance(c, nn.AvgPool2d)}

    assert pool_parents(swapped) == {PoolByMatmul}  # every pool runs inside one, none is wrapped twice
    assert PoolByMatmul not in pool_parents(fp32)  # the original is untouched
    x = data.test.x[:64]
    with torch.no_grad():
        assert torch.allclose(swapped(x), fp32(x), atol=1e-5)
        torch_pooled = to_int8(fp32, data, calibration=128, pooling="torch")
        ours, theirs = int8(data.test.x).argmax(1), torch_pooled(data.test.x).argmax(1)
    # one rounding step apart at most in each pooled map: the same predictions but for near ties
    assert (ours == theirs).float().mean() >= 0.97
    y = data.test.y
    assert float((ours == y).float().mean()) > 0.8
    assert abs(float((ours == y).float().mean() - (theirs == y).float().mean())) <= 0.01
    assert any(isinstance(m, QuantizedPoolByMatmul) for m in int8.modules())
    with pytest.raises(ValueError, match="pooling"):
        to_int8(fp32, data, pooling="fast")


@pytest.mark.parametrize("kind", ["fp32", "int8"])
def test_packed_round_trip_gives_identical_outputs(models, data, kind, tmp_path):
    fp32, int8, description = models
    model = fp32 if kind == "fp32" else int8
    path = save_packed(tmp_path / f"{kind}.nasnb", model, description)
    loaded = load_packed(path)
    x = data.test.x
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    assert not loaded.training
    assert np.array_equal(serving_function(str(path))(x.numpy()), model(x).detach().numpy())  # a Monitor serves it
    assert path.stat().st_size < serialized_bytes(model)  # smaller than torch.save of the same state dict
    with pytest.raises(FileExistsError, match="exists"):
        save_packed(path, model, description)


def test_packed_int8_is_over_three_times_smaller_than_packed_fp32(models):
    fp32, int8, description = models
    ratio = len(pack(fp32, description)) / len(pack(int8, description))
    torch_ratio = serialized_bytes(fp32) / serialized_bytes(int8)
    assert ratio > 3.0 > torch_ratio  # the format's overhead, not the numbers, kept torch.save's ratio low


def test_bad_packed_files_are_refused_clearly(models, tmp_path):
    fp32, _, description = models
    payload = pack(fp32, description)
    not_packed = tmp_path / "weights.pt"
    torch.save(fp32.state_dict(), not_packed)
    with pytest.raises(PackedFormatError, match="not a packed nasnb model"):
        load_packed(not_packed)
    with pytest.raises(PackedFormatError, match="truncated"):
        load_packed(payload[: len(payload) - 100])
    with pytest.raises(PackedFormatError, match="truncated"):
        load_packed(payload[:20])
    with pytest.raises(PackedFormatError, match="version"):
        load_packed(payload[:7] + bytes([9]) + payload[8:])
    with pytest.raises(PackedFormatError, match="damaged header"):
        load_packed(payload[:12] + b"\x00" * 8 + payload[20:])
    other = {**description, "network": {"channels": 4}}  # a header that does not fit the tensors
    with pytest.raises(PackedFormatError, match="do not fit"):
        load_packed(pack(fp32, other))
    with pytest.raises(ValueError, match="lacks"):
        pack(fp32, {"arch": ARCH})


def test_layer_specs_by_hand_rebuild_the_same_layers():
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1, bias=False)
    assert layer_spec(conv) == {"conv2d": [3, 4, [3, 3], [2, 2], [1, 1], [1, 1], 1, False, "zeros"]}
    assert layer_spec(nn.BatchNorm2d(5)) == {"batchnorm2d": [5, 1e-5, 0.1, True, True]}
    pair = nn.Sequential(nn.Linear(6, 2, bias=False), nn.Linear(2, 3))
    assert layer_spec(pair) == {"sequential": [{"linear": [6, 2, False]}, {"linear": [2, 3, True]}]}
    for layer in (conv, nn.BatchNorm2d(5), pair):
        rebuilt = build_layer(layer_spec(layer))
        assert type(rebuilt) is type(layer) and layer_spec(rebuilt) == layer_spec(layer)
        assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {
            k: v.shape for k, v in layer.state_dict().items()
        }
    with pytest.raises(TypeError, match="GELU"):
        layer_spec(nn.GELU())


def test_changed_layers_are_described_only_on_request(models, data):
    from nasnb.compress.lowrank import factorize_conv
    from nasnb.nn import build_model

    fp32, int8, description = models
    assert pack(fp32, description, changed_layers=True) == pack(fp32, description)  # nothing changed: same file
    assert pack(int8, description, changed_layers=True) == pack(int8, description)
    factored = build_model(CellSpace().parse(ARCH), data.input_shape, data.num_classes, **NETWORK)
    factored.load_state_dict(fp32.state_dict())
    factored.stem[0] = factorize_conv(fp32.stem[0], 2)  # the stem's 3x3 conv as a rank-2 pair
    factored.head[-1] = nn.Linear(16, 10, bias=False)  # a classifier of other arguments
    factored.body[1].conv_a[1] = nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False)  # unchanged: not listed
    changes = layer_changes(factored.eval(), build_model(CellSpace().parse(ARCH), (1, 8, 8), 10, **NETWORK))
    assert set(changes) == {"stem.0", "head.4"}
    assert changes["stem.0"]["sequential"][0]["conv2d"][:2] == [1, 2]
    payload = pack(factored, description, changed_layers=True)
    assert read_header(payload)[0]["layers"] == changes
    with pytest.raises(PackedFormatError, match="do not fit"):  # by default a model must fit its description
        load_packed(pack(factored, description))
    factored.head[-1] = nn.Sequential(nn.Linear(16, 10), nn.GELU())  # not only layers with weights
    with pytest.raises(TypeError, match="GELU"):
        pack(factored, description, changed_layers=True)


@settings(max_examples=40, deadline=None)
@given(
    groups=st.integers(1, 3),
    per_group=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.integers(1, 2),
    padding=st.integers(0, 2),
    bias=st.booleans(),
)
def test_any_convolution_spec_rebuilds_a_layer_computing_the_same(groups, per_group, kernel, stride, padding, bias):
    conv = nn.Conv2d(groups * per_group[0], groups * per_group[1], kernel, stride, padding, groups=groups, bias=bias)
    rebuilt = build_layer(layer_spec(conv))
    rebuilt.load_state_dict(conv.state_dict())
    x = torch.randn(2, conv.in_channels, 6, 6)
    with torch.no_grad():
        assert torch.equal(rebuilt(x), conv(x))
