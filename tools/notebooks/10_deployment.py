# %% [markdown]
# # 10 · Deployment and monitoring: ship the found model, then watch it in service
#
# A search is done when its best model answers real requests — and keeps answering them well. This
# notebook takes a model from a run all the way out:
#
# 1. **keep the weights** during the search, and load the best model back from the run;
# 2. **export** it to ONNX (checked against onnxruntime), TorchScript and nasnb's compact **packed**
#    file (float32 and int8), each with a **model card**, and compare the files' sizes;
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
from nasnb.deploy import Monitor, export, load_packed, plot_monitor, shift_images
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
# **int8 ONNX** is a far smaller file than float32 ONNX: onnxruntime quantises the convolutions, the classifier
# and the sums to 8-bit integers, calibrated on training images, and nasnb shortens the tensor names (in a
# small network the names weigh as much as the numbers). An int8 model cannot match float32 outputs
# to 1e-4, so the check is that its predicted classes agree with PyTorch's. Smaller is not faster
# here: for a network this narrow onnxruntime's float32 kernels win (`benchmarks/bench_int8.py`).

# %%
Path("runs/10_exports/model-int8.onnx").unlink(missing_ok=True)
Path("runs/10_exports/model-int8.onnx.card.json").unlink(missing_ok=True)
int8_export = export("runs/10_deployment", "runs/10_exports/model-int8.onnx", format="onnx-int8")
checks = int8_export.card["checks"]
int8_bytes = Path("runs/10_exports/model-int8.onnx").stat().st_size
print(f"{int8_bytes:,} bytes against {checks['float32_onnx_bytes']:,} in float32 "
      f"({checks['float32_onnx_bytes'] / int8_bytes:.1f}x smaller); predictions agree on "
      f"{checks['top1_agreement']:.1%} of {checks['checked_inputs']} test images")

# %% [markdown]
# Exports never overwrite: exporting again to the same path is refused, with a hint.

# %%
try:
    export("runs/10_deployment", "runs/10_exports/model.onnx")
except FileExistsError as err:
    print("refused:", err)

# %% [markdown]
# ### The packed file: the smallest file for the torch runtime
#
# ONNX needs onnxruntime on the server. A server that runs PyTorch can take nasnb's own **packed**
# file: `format="packed"` (float32) or `"packed-int8"` (quantised first by `nasnb.compress.to_int8`:
# int8 convolutions calibrated on training images, as many as notebook 08 and `nasnb compress --method
# int8` use, so the packed size they report is this file's size; the card's `calibration_images` says
# how many). The export loads the file back and checks it computes *exactly* what the model computes,
# and (int8) that it predicts the float32 model's classes on nearly every test image, or it removes the
# file. Every card also gives the exported file's own test accuracy (`file_test_accuracy`, the file run
# on the test split): for an int8 file it can differ from the float32 model's. On the command line:
# `nasnb export runs/10_deployment --format packed-int8 --out model-int8.nasnb`.
#
# We also write the plain `state-dict` export (a nasnb weights file, `torch.save` of the weights and
# the record), so that every format sits in one table.

# %%
for name in ("model.state.pt", "model.nasnb", "model-int8.nasnb"):
    Path("runs/10_exports", name).unlink(missing_ok=True)
    Path("runs/10_exports", name + ".card.json").unlink(missing_ok=True)
export("runs/10_deployment", "runs/10_exports/model.state.pt", format="state-dict")
export("runs/10_deployment", "runs/10_exports/model.nasnb", format="packed")
packed_export = export("runs/10_deployment", "runs/10_exports/model-int8.nasnb", format="packed-int8")
print(json.dumps(packed_export.card["checks"], indent=1))
metrics = packed_export.card["metrics"]
print(f"test accuracy: the int8 file {metrics['file_test_accuracy']:.4f}, "
      f"the float32 model {metrics['test_accuracy']:.4f}")

# %%
files = {
    "state-dict": "model.state.pt",
    "torchscript": "model.pt",
    "onnx": "model.onnx",
    "onnx-int8": "model-int8.onnx",
    "packed": "model.nasnb",
    "packed-int8": "model-int8.nasnb",
}
sizes = {fmt: Path("runs/10_exports", name).stat().st_size for fmt, name in files.items()}
print(f"{'format':<12} {'file':<17} {'bytes':>8}  times smaller than the state dict")
for fmt, name in files.items():
    print(f"{fmt:<12} {name:<17} {sizes[fmt]:>8,}  {sizes['state-dict'] / sizes[fmt]:.2f}x")
smallest, largest = min(sizes, key=sizes.get), max(sizes, key=sizes.get)
print(f"smallest: {smallest} ({sizes[smallest]:,} B); largest: {largest} ({sizes[largest]:,} B)")

fig, ax = plt.subplots(figsize=(6.4, 2.6))
bars = ax.barh(list(files)[::-1], [sizes[f] / 1000 for f in list(files)[::-1]],
               color=["tab:orange" if f.endswith("int8") else "tab:blue" for f in list(files)[::-1]])
ax.bar_label(bars, labels=[f"{sizes[f]:,} B" for f in list(files)[::-1]], padding=3, fontsize=8)
ax.set_xlabel("file size (kB); orange: int8")
ax.set_xlim(0, 1.25 * max(sizes.values()) / 1000)
ax.set_title("One trained cell network, six export formats")
fig.tight_layout()

# %% [markdown]
# A TorchScript file carries the network's compiled code besides the same weights, so it is larger than
# the state dict. And
# why is the packed file so much smaller than `torch.save`'s, with the same numbers in it? A
# `torch.save` file is a zip archive: every tensor becomes a zip record of its own (a local header, a
# name such as `archive/data/17`, a directory entry, padding to an aligned offset), and a pickled
# index names each tensor and how to rebuild it. An int8 layer adds a scale and a zero point, each
# stored the same way. This network has dozens of tensors, most of them tiny (a BatchNorm's eight
# means), so the bookkeeping outweighs the numbers. The packed file writes **one header** (the
# architecture, and an index of every tensor: its type, shape and place in the buffer; scales and zero
# points as plain numbers), compressed, and then **one buffer** with all tensors back to back.

# %%
from nasnb.compress.record import tensor_bytes
from nasnb.deploy.packed import read_header

payload = Path("runs/10_exports/model-int8.nasnb").read_bytes()
header, buffer = read_header(payload)
int8_model = load_packed(payload)
entries, numbers = len(int8_model.state_dict()), tensor_bytes(int8_model)
saved = packed_export.card["checks"]["torch_save_bytes"]
print(f"int8 model: {entries} state-dict entries holding {numbers:,} bytes of numbers")
print(f"  torch.save: {saved:,} bytes, {(saved - numbers) / entries:.0f} bytes of bookkeeping per entry")
print(f"  packed:     {len(payload):,} bytes = {len(payload) - len(buffer):,} of header + {len(buffer):,} of buffer")

# %% [markdown]
# A smaller file is only worth shipping if it gives the model back. `load_packed` rebuilds the
# network from the header and loads the buffer into it: the float32 file computes *exactly* the
# model's outputs, and the int8 file predicts the same class as the float32 model on nearly every
# test image (int8 rounds every weight and activation, so the logits differ slightly).

# %%
x = data.test.x
with torch.no_grad():
    reference = model(x)
    from_packed = load_packed("runs/10_exports/model.nasnb")(x)
    from_int8 = load_packed("runs/10_exports/model-int8.nasnb")(x)
print("packed float32 outputs identical to the model's:", torch.equal(from_packed, reference))
print(f"packed int8: same class as float32 on {(from_int8.argmax(1) == reference.argmax(1)).float().mean():.1%} "
      f"of {len(x)} test images; largest logit difference {(from_int8 - reference).abs().max():.3f}")
print(f"test accuracy: float32 {(reference.argmax(1) == data.test.y).float().mean():.4f}, "
      f"int8 {(from_int8.argmax(1) == data.test.y).float().mean():.4f}")

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
served = []  # the batches, kept to serve them again below
for step, (angle, noise) in enumerate(schedule):
    idx = rng.choice(len(data.test), 120, replace=False)
    x = shift_images(data.test.x[idx], rotation=angle, noise=noise, seed=step)
    served.append((x.numpy(), data.test.y[idx].numpy(), f"{angle}°, noise {noise}"))
    record = monitor.observe(*served[-1][:2], label=served[-1][2])
    print(f"{record.label:>17}: accuracy {record.accuracy:.3f}  confidence {record.confidence:.3f}  "
          f"p(conf) {record.p_confidence:.2g}  p(input) {record.p_input:.2g}  {'ALERT' if record.drift else ''}")

# %%
plot_monitor(monitor);

# %%
import textwrap

for alert in monitor.alerts[:3]:
    print(textwrap.fill(alert.message, 100, subsequent_indent="    "))
confidences = [r.confidence for r in monitor.records]
low = int(np.argmin(confidences))
first = monitor.alerts[0].batch if monitor.alerts else None
print(f"mean confidence: clean {np.mean(confidences[:2]):.3f}, lowest {confidences[low]:.3f} "
      f"({monitor.records[low].label}), strongest drift {confidences[-1]:.3f}")
print("first alert:", "none" if first is None else monitor.records[first].label)

# %% [markdown]
# The accuracy falls with the rotation, and the mean confidence drops below its clean level too — but
# not in step with the accuracy: the line above gives its lowest value and its value at the strongest
# drift, where it need not be lowest. The test on confidences does not need it to keep falling: it
# compares the whole distribution of a batch's confidences with the one on the validation set, without
# any label. The smallest shifts, before the first alert named above, pass unnoticed: a good monitor
# does not cry wolf on every batch, and at α = 0.01 a clean batch raises a false alarm about once in a
# hundred.
#
# The monitor serves whichever file was shipped: it recognises a packed file by its first bytes
# (`NASNBPK`) and loads it with `load_packed`. Serving the same batches through the **packed int8**
# file shows whether the smaller model drifts, and alarms, like the float32 ONNX one.

# %%
int8_monitor = Monitor("runs/10_exports/model-int8.nasnb", data.val.x.numpy(), alpha=0.01)
gaps, disagree = [], []
for (x, y, label), onnx_record in zip(served, monitor.records):
    record = int8_monitor.observe(x, y, label=label)
    gaps.append((round(abs(record.accuracy - onnx_record.accuracy) * len(y)), label))
    if record.drift != onnx_record.drift:
        disagree.append(label)
    print(f"{label:>17}: accuracy onnx {onnx_record.accuracy:.3f} / packed int8 {record.accuracy:.3f}  "
          f"alert {'yes' if onnx_record.drift else 'no':>3} / {'yes' if record.drift else 'no'}")
gap, where = max(gaps)
print(f"largest accuracy gap: {gap} of {len(y)} images ({where}); "
      f"alerts differ on: {', '.join(disagree) or 'no batch'}")

# %% [markdown]
# The int8 model's accuracy follows the float32 model's, but not image for image: on drifted batches,
# where the float32 model is unsure, int8's rounding can tip answers either way (the largest gap is
# printed under the table). Its alerts come with the strong drift too.
# Near the threshold the two can disagree: each model is compared with *its own* confidences on the
# validation set, and a batch whose p-value is close to α/2 for one model can fall on either side for
# the other (the line under the table names any batch where that happened). Monitor the file you
# ship, not its float32 parent.

# %% [markdown]
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
# **10.3** Does the TorchScript file compute what the ONNX file computes? `serving_function` (from
# `nasnb.deploy.monitor`) loads an exported file as a server would — `serving_function("runs/10_exports/model.pt")`
# for TorchScript, `serving_function("runs/10_exports/model.onnx")` for ONNX (run by onnxruntime) — and
# returns a function that takes a batch (a tensor or a numpy array) and gives back the logits as a numpy
# array. Run both files on `data.test.x[:32]` and give the largest absolute difference of their outputs
# (4 decimals).

# %% [answer 10.3]
q103 = ...  # a number
### BEGIN SOLUTION
from nasnb.deploy.monitor import serving_function

x = data.test.x[:32]
scripted = serving_function("runs/10_exports/model.pt")(x)
q103 = float(np.abs(scripted - serving_function("runs/10_exports/model.onnx")(x)).max())
### END SOLUTION

# %% [check 10.3]
check("10.3", q103, expect=0.0, decimals=4, hint="both come from the same weights: np.abs(a - b).max() of the two files' outputs on the same inputs")

# %% [markdown]
# **Try it yourself**: lower `alpha` to 0.001 — how much later does the alert fire? Monitor with
# labels removed (`y=None`). Export with `nasnb export runs/10_deployment --format onnx --out my.onnx` in a
# terminal and read the card it writes; export `--format packed-int8` (it prints the int8 file's own test
# accuracy) and compare its card's `torch_save_bytes` with the file's size.
