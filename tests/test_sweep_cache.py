"""The sweep runner: results cached by full config, changed configs re-run alone, provenance."""

from dataclasses import replace

from effnet_lib.study.sweeps import sweep
from effnet_lib.training.config import TrainConfig


def test_sweep_caches_by_config_and_records_provenance(split_folder, tmp_path):
    base = TrainConfig(
        data=str(split_folder), model=None, width=0.25, depth=0.25, image_size=32, epochs=1, batch_size=8
    )
    configs = [base, replace(base, image_size=40)]
    first = sweep(configs, tmp_path, progress=False)
    assert list(first["resolution"]) == [32, 40] and (first["macs"].iloc[1] > first["macs"].iloc[0])
    assert set(first.columns) >= {
        "params",
        "macs",
        "train_seconds",
        "val_acc",
        "test_acc",
        "prov_commit",
        "prov_torch",
        "prov_device",
        "prov_date",
        "seed",
        "quick",
    }
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.glob("*.json")}
    again = sweep(configs, tmp_path, progress=False)  # read back, nothing trained or written
    assert again.equals(first) and {p: p.stat().st_mtime_ns for p in tmp_path.glob("*.json")} == stamps
    changed = sweep([base, replace(base, seed=1)], tmp_path, progress=False)
    assert len(list(tmp_path.glob("*.json"))) == 3  # only the changed config ran
    assert changed["key"].iloc[0] == first["key"].iloc[0] and changed["key"].iloc[1] not in set(first["key"])
