"""Monitoring: confidences, entropy and accuracy per batch; KS drift tests against validation; alerts on drift."""

import numpy as np
import pytest
import torch
from scipy.stats import ks_2samp

from nasnb.data import load_dataset
from nasnb.deploy import Monitor, shift_images
from nasnb.deploy.monitor import input_statistic
from tests.helpers.trained import trained_cell


@pytest.fixture(scope="module")
def data():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def model():
    return trained_cell()


def test_clean_batches_raise_no_alert_and_drift_does(model, data):
    monitor = Monitor(model, data.val.x, alpha=0.01)
    for i in range(0, 360, 90):
        record = monitor.observe(data.test.x[i : i + 90], data.test.y[i : i + 90])
        assert not record.drift and 0.0 < record.accuracy <= 1.0
    assert monitor.alerts == []
    drifted = shift_images(data.test.x[:180], rotation=45, noise=0.8, seed=1)
    record = monitor.observe(drifted)
    assert record.drift and record.accuracy is None
    assert monitor.alerts and monitor.alerts[-1].batch == record.batch
    assert "differs from validation" in monitor.alerts[-1].message
    assert len(monitor.to_dataframe()) == 5


def test_ks_statistic_is_scipys_on_softmax_confidences(model, data):
    monitor = Monitor(model, data.val.x)
    batch = data.test.x[:100]
    record = monitor.observe(batch)
    with torch.no_grad():
        conf = torch.softmax(model(batch), 1).max(1).values.numpy()
        ref = torch.softmax(model(data.val.x), 1).max(1).values.numpy()
    assert record.ks_confidence == pytest.approx(ks_2samp(conf, ref).statistic, abs=1e-6)
    assert record.ks_input == pytest.approx(
        ks_2samp(input_statistic(batch.numpy()), input_statistic(data.val.x.numpy())).statistic
    )
    assert record.confidence == pytest.approx(float(conf.mean()), abs=1e-5)


def test_monitor_serves_an_exported_onnx_file(model, data, tmp_path):
    from nasnb.deploy.exporter import _export_onnx

    _export_onnx(model, data.test.x[:64], tmp_path / "m.onnx", 17, [])
    from_file = Monitor(tmp_path / "m.onnx", data.val.x).observe(data.test.x[:50])
    in_memory = Monitor(model, data.val.x).observe(data.test.x[:50])
    assert from_file.confidence == pytest.approx(in_memory.confidence, abs=1e-5)
    assert from_file.p_confidence == pytest.approx(in_memory.p_confidence, rel=1e-3)


def test_shift_images_and_bad_input(model, data):
    x = data.test.x[:4]
    assert torch.equal(shift_images(x), x)
    assert torch.allclose(shift_images(x, rotation=90), torch.rot90(x, 1, dims=(-2, -1)))
    noisy = shift_images(x, noise=0.5, seed=3)
    assert torch.equal(noisy, shift_images(x, noise=0.5, seed=3)) and not torch.equal(noisy, x)
    with pytest.raises(ValueError, match="reference"):
        Monitor(model, data.val.x[:5])
    with pytest.raises(ValueError, match="alpha"):
        Monitor(model, data.val.x, alpha=1.5)
    with pytest.raises(FileNotFoundError, match="export"):
        Monitor("missing.onnx", data.val.x)
    with pytest.raises(ValueError, match="at least 2"):
        Monitor(model, data.val.x).observe(np.zeros((1, 1, 8, 8)))


def test_serving_functions_take_tensors_as_well_as_arrays(model, data, tmp_path):
    import warnings

    from nasnb.deploy.exporter import _export_onnx, _export_torchscript
    from nasnb.deploy.monitor import serving_function

    x = data.test.x[:32]
    _export_onnx(model, data.test.x[:64], tmp_path / "m.onnx", 17, [])
    _export_torchscript(model, data.test.x[:64], tmp_path / "m.pt", [])
    with torch.no_grad():
        want = model(x).numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # loading the TorchScript file shows no deprecation warning
        functions = [
            serving_function(tmp_path / "m.onnx"),
            serving_function(tmp_path / "m.pt"),
            serving_function(model),
        ]
    for predict in functions:
        from_tensor, from_array = predict(x), predict(x.numpy())
        assert isinstance(from_tensor, np.ndarray) and np.array_equal(from_tensor, from_array)
        assert np.abs(from_tensor - want).max() < 1e-4
