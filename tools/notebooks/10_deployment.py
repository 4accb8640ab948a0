# %% [markdown]
# # 10 · Deployment and monitoring: ship the found model, then watch it in service
#
# A search is done when its best model answers real requests — and keeps answering them well. This
# notebook takes a model from a run all the way out:
#
# 1. **keep the weights** during the search, and load the best model back from the run;
# 2. **export** it to ONNX (checked against onnxruntime) and TorchScript, with a **model card**;
# 3. **serve** the exported file and **monitor** it: confidence, entropy, accuracy when labels are
#    known, and a statistical test that raises an **alert** when the inputs drift away from what the
#    model was validated on.

# %%
import json
import shutil
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt
import torch

import nasnb
from nasnb import CellSpace, Search
from nasnb.data import load_dataset
from nasnb.deploy import Monitor, export, plot_monitor, shift_images
from nasnb.evaluation import Trainer

torch.set_num_threads(1)

# %% [markdown]
# ## 1 · Weights in the run
#
# A search normally keeps only scores. With `keep_weights="best"` the Trainer also writes the
# weights of the most accurate network so far into `<run_dir>/weights/` (`"all"` keeps every one;
# on the command line: `nasnb search ... --keep-weights best`).

# %%
# NBVAL_CHECK_OUTPUT
shutil.rmtree("runs/10_deployment", ignore_errors=True)
trainer = Trainer(epochs=3, lr=0.1, batch_size=64, network={"channels": 8}, keep_weights="best")
search = Search(CellSpace(), "random", trainer, budget=3, seed=3, run_dir="runs/10_deployment")
search.run()
search.close()
print(sorted(p.name for p in Path("runs/10_deployment").iterdir()))
model = nasnb.load_model("runs/10_deployment", "best")
print(type(model).__name__, "in eval mode:", not model.training)

# %% [markdown]
# The reloaded network is exactly the one the search scored: its validation accuracy is the
# number in the run log.

# %%
data = load_dataset("digits")
with torch.no_grad():
    val_accuracy = (model(data.val.x).argmax(1) == data.val.y).float().mean().item()
print(f"recomputed {val_accuracy:.4f}, recorded {search.best.metrics['accuracy']:.4f}")

# %% [markdown]
# ## 2 · Export
#
# **ONNX** is the common format of serving runtimes. `export` writes the file and then *checks* it:
# onnxruntime runs it on 256 real test images and its outputs must equal PyTorch's within 1e-4, or
# the file is removed and an error says why. A JSON **model card** goes beside it: architecture,
# dataset, preprocessing (the constants a server needs), metrics, checks and versions.

# %%
Path("runs/10_exports").mkdir(parents=True, exist_ok=True)
for name in ("model.onnx", "model.onnx.card.json", "model.pt", "model.pt.card.json"):
    Path("runs/10_exports", name).unlink(missing_ok=True)
onnx_export = export("runs/10_deployment", "runs/10_exports/model.onnx", format="onnx")
card = onnx_export.card
print(json.dumps({k: card[k] for k in ("architecture", "preprocessing", "metrics", "checks")}, indent=1)[:1500])

# %% [markdown]
# **TorchScript** runs without Python (C++, mobile). nasnb *scripts* the network (compiling its
# Python, loops and all); tracing, which records one run, is only the fallback, because a trace
# silently freezes any branch its example input did not take.

# %%
script_export = export("runs/10_deployment", "runs/10_exports/model.pt", format="torchscript")
print("method:", script_export.card["checks"]["torchscript_method"])

# %% [markdown]
# **int8 ONNX** is the smallest file: onnxruntime quantises the convolutions, the classifier and the
# sums to 8-bit integers, calibrated on training images, and nasnb shortens the tensor names (in a
# small network the names weigh as much as the numbers). An int8 model cannot match float32 outputs
# to 1e-4, so the check is that its predicted classes agree with PyTorch's. Smaller is not faster
# here: for a network this narrow onnxruntime's float32 kernels win (`benchmarks/bench_int8.py`).

# %%
Path("runs/10_exports/model-int8.onnx").unlink(missing_ok=True)
Path("runs/10_exports/model-int8.onnx.card.json").unlink(missing_ok=True)
int8_export = export("runs/10_deployment", "runs/10_exports/model-int8.onnx", format="onnx-int8")
checks = int8_export.card["checks"]
print(f"{Path('runs/10_exports/model-int8.onnx').stat().st_size:,} bytes against "
      f"{checks['float32_onnx_bytes']:,} in float32; predictions agree on {checks['top1_agreement']:.1%} "
      f"of {checks['checked_inputs']} test images")

# %% [markdown]
# Exports never overwrite: exporting again to the same path is refused, with a hint.

# %%
try:
    export("runs/10_deployment", "runs/10_exports/model.onnx")
except FileExistsError as err:
    print("refused:", err)

# %% [markdown]
# ## 3 · Monitoring in service
#
# The monitor serves the **exported ONNX file** (through onnxruntime, as a server would). For each
# incoming batch it records the mean confidence (top class probability), the predictive entropy and,
# when labels come with the batch, the accuracy. Labels usually arrive late or never, so drift is
# detected without them: a two-sample **Kolmogorov–Smirnov test** compares the batch's confidences
# (and a per-image input statistic) with those on the validation set. If a p-value falls below
# α/2 (two tests, α = 0.01), the batch raises an **alert**.
#
# We feed clean test images first, then images rotated further and further, with growing noise — a
# camera slowly tilting and getting noisier.

# %%
monitor = Monitor("runs/10_exports/model.onnx", data.val.x.numpy(), alpha=0.01)
rng = np.random.default_rng(0)
schedule = [(0, 0.0), (0, 0.0), (5, 0.05), (10, 0.1), (15, 0.2), (25, 0.3), (35, 0.4), (45, 0.6)]
for step, (angle, noise) in enumerate(schedule):
    idx = rng.choice(len(data.test), 120, replace=False)
    x = shift_images(data.test.x[idx], rotation=angle, noise=noise, seed=step)
    record = monitor.observe(x.numpy(), data.test.y[idx].numpy(), label=f"{angle}°, noise {noise}")
    print(f"{record.label:>17}: accuracy {record.accuracy:.3f}  confidence {record.confidence:.3f}  "
          f"p(conf) {record.p_confidence:.2g}  p(input) {record.p_input:.2g}  {'ALERT' if record.drift else ''}")

# %%
plot_monitor(monitor);

# %%
for alert in monitor.alerts[:3]:
    print(alert.message)

# %% [markdown]
# The accuracy falls with the rotation, and the confidence falls with it — that is what the test on
# confidences sees without any label. Small rotations pass unnoticed: a good monitor does not cry
# wolf on every batch, and at α = 0.01 a clean batch raises a false alarm about once in a hundred.
#
# ## Exercises
#
# Replace each `...` with your answer and run the cell below it: it says "correct" or "not yet" with
# a hint, without showing the answer.

# %%
from nasnb.grading import check

# %% [markdown]
# **10.1** A model that spreads its probability evenly over the 10 digits is maximally unsure. What is
# the entropy (natural log) of that prediction (3 decimals)? The monitor records this quantity for
# every batch.

# %% [answer 10.1]
q101 = ...  # a number
### BEGIN SOLUTION
p = np.full(10, 0.1)
q101 = float(-(p * np.log(p)).sum())
### END SOLUTION

# %% [check 10.1]
check("10.1", q101, expect=2.303, decimals=3, hint="entropy is -sum(p log p) with p = 1/10 for each of 10 classes; it simplifies to log(10)")

# %% [markdown]
# **10.2** The monitor's drift test is the two-sample Kolmogorov–Smirnov test: its statistic D is the
# largest vertical gap between the two samples' empirical cumulative distributions. Compute D (2
# decimals) for validation confidences `[0.91, 0.84, 0.97, 0.78, 0.88]` against a batch's
# `[0.62, 0.85, 0.71, 0.93, 0.55]`: by hand (sort both and walk through the values), then check with
# `scipy.stats.ks_2samp`.

# %% [answer 10.2]
q102 = ...  # a number
### BEGIN SOLUTION
from scipy.stats import ks_2samp

q102 = ks_2samp([0.91, 0.84, 0.97, 0.78, 0.88], [0.62, 0.85, 0.71, 0.93, 0.55]).statistic
### END SOLUTION

# %% [check 10.2]
check("10.2", q102, expect=0.6, decimals=2, hint="at 0.71 the batch's curve is at 3/5 and the validation curve still at 0/5")

# %% [markdown]
# **10.3** Does the TorchScript file compute what the ONNX file computes? Load it with
# `torch.jit.load("runs/10_exports/model.pt")`, run both on `data.test.x[:32]` (onnxruntime through
# `nasnb.deploy.monitor.serving_function("runs/10_exports/model.onnx")`), and give the largest absolute
# difference of their outputs (4 decimals).

# %% [answer 10.3]
q103 = ...  # a number
### BEGIN SOLUTION
from nasnb.deploy.monitor import serving_function

x = data.test.x[:32]
with torch.no_grad():
    scripted = torch.jit.load("runs/10_exports/model.pt")(x).numpy()
q103 = float(np.abs(scripted - serving_function("runs/10_exports/model.onnx")(x.numpy())).max())
### END SOLUTION

# %% [check 10.3]
check("10.3", q103, expect=0.0, decimals=4, hint="both come from the same weights: compute np.abs(torchscript_out - onnx_out).max() on the same inputs")

# %% [markdown]
# **Try it yourself**: lower `alpha` to 0.001 — how much later does the alert fire? Monitor with
# labels removed (`y=None`). Export with `nasnb export runs/10_deployment --format onnx --out my.onnx` in a
# terminal and read the card it writes.
