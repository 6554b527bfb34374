"""`mlrc data cache`: builds a protocol's image caches ahead of time and reports their size."""

from __future__ import annotations

from benchmark.cli import main
from benchmark.config import load_protocol
from benchmark.profiling.cub_jpeg import ensure_cub_jpeg_tree
from benchmark.store.run_directory import RunDirectory

SMALL_MLRC = ["--set", "data.resize=64", "--set", "data.image_size=56"]


def test_data_cache_builds_the_mlrc_caches_of_a_cub_tree_once(tmp_path, capsys):
    tree = ensure_cub_jpeg_tree(8, 3, image_size=80, image_height=60, cache_dir=tmp_path / "tree")
    cache_dir = tmp_path / "images"
    args = ["data", "cache", "--dataset", "cub", "--root", str(tree), "--protocol", "mlrc"]
    args += [*SMALL_MLRC, "--set", f"data.cache_dir={cache_dir}", "--workers", "2"]
    assert main([*args, "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "training: 12 images, Resize(size=64" in printed
    for role in ("validation", "test"):
        assert f"{role}: 12 images, Resize(size=64" in printed
    assert "CenterCrop(size=(56, 56))" in printed and "size on disk:" in printed
    expected = 12 * 64 * 85 * 3 + 24 * 56 * 56 * 3
    built = sorted(cache_dir.glob("images-cub-*/pixels.u8"))
    assert len(built) == 3 and sum(path.stat().st_size for path in built) == expected
    stamps = [path.stat().st_mtime_ns for path in built]
    assert main([*args, "--no-progress"]) == 0  # valid: reused, not rebuilt
    assert [path.stat().st_mtime_ns for path in built] == stamps
    # The Slurm cache job: the same caches, from a run directory's recorded protocol.
    overrides = ["data.resize=64", "data.image_size=56", f"data.cache_dir={cache_dir}"]
    config = load_protocol("mlrc", "cub", [*overrides, f"data.root={tree}"])
    RunDirectory(tmp_path / "run").initialise(config, [], None)
    capsys.readouterr()
    assert main(["data", "cache", "--run-dir", str(tmp_path / "run"), "--no-progress"]) == 0
    assert capsys.readouterr().out == printed
    assert [path.stat().st_mtime_ns for path in built] == stamps


def test_data_cache_of_the_traditional_protocol_caches_only_evaluation(tmp_path, capsys):
    tree = ensure_cub_jpeg_tree(8, 2, image_size=80, image_height=60, cache_dir=tmp_path / "tree")
    args = ["data", "cache", "--dataset", "cub", "--root", str(tree), "--protocol", "traditional"]
    args += ["--set", f"data.cache_dir={tmp_path / 'images'}", "--workers", "0", "--no-progress"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "training: read from the image files" in captured.out
    assert "validation: 8 images, Resize(size=256" in captured.out
    assert "test: 8 images, Resize(size=256" in captured.out
    assert "has data.cache_images: false" in captured.out
