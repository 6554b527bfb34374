"""Search-space files: MLRC's bounds per dataset, shared hyperparameters searched alike, the
tables of docs/losses.md in step with the files, and bad files failing with one clear error."""

from __future__ import annotations

import json
import re
from pathlib import Path

import optuna
import pytest

from benchmark.data import dataset_names
from benchmark.errors import ConfigError, UnknownDatasetError
from benchmark.losses import get_loss_spec, list_losses
from benchmark.losses.listing import loss_table, search_space_table
from benchmark.losses.search_space import ORIGINS, load_search_space

LOSSES_PAGE = Path(__file__).resolve().parents[2] / "docs" / "losses.md"
REFERENCE_PAGE = LOSSES_PAGE.parents[1] / "results" / "reference" / "mlrc-search-spaces.md"
MLRC_DATASETS = ("cub", "cars196", "sop")

# MLRC's final bounds (linear scale) per dataset, from results/reference/mlrc-search-spaces.md,
# sections 1 and 3. Where MLRC's losses differ, the paper's baselines take the union (the "fair
# scales" rule): CUB alpha from MS, SOP beta from MS+Miner, SOP scale from ArcFace.
MS_RANGES = {
    "alpha": {"cub": (0.001, 100), "cars196": (0.01, 100), "sop": (0.01, 100)},
    "beta": {"cub": (0.01, 100), "cars196": (0.01, 100), "sop": (0.01, 200)},
    "base": {"cub": (0, 1), "cars196": (0, 1), "sop": (0, 1)},
}
LOGIT_SCALE = {"cub": (0.01, 200), "cars196": (0.01, 200), "sop": (0.01, 300)}
MLRC_LINEAR_RANGES = {
    "contrastive": {"pos_margin": (-0.2, 2), "neg_margin": (-0.2, 2)},
    "multi_similarity": MS_RANGES,
    "multi_similarity_miner": {**MS_RANGES, "epsilon": (0, 1)},
    "arcface": {"margin": (0, 90), "scale": LOGIT_SCALE},
    "cosface": {"margin": (0, 1), "scale": LOGIT_SCALE},
    "proxy_nca": {"softmax_scale": (0.01, 100)},
    "triplet": {"margin": (-0.2, 2)},
    "margin": {"margin": (-0.2, 2), "init_beta": (-0.2, 2)},
    "margin_per_class": {"margin": (-0.2, 2), "init_beta": (-0.2, 2)},
    "snr_contrastive": {"pos_margin": (0, 2), "neg_margin": (0, 2), "regularizer_weight": (0, 1)},
    "fastap": {"num_bins": {"cub": (2, 32), "cars196": (2, 32), "sop": (3, 32)}},
    "soft_triple": {
        "la": {"cub": (0.01, 100), "cars196": (0.01, 100), "sop": (0.01, 200)},
        "gamma": {"cub": (1e-4, 100), "cars196": (0.01, 100), "sop": (0.01, 100)},
        "margin": (0, 1),
    },
}
# MLRC's log-scale bounds of its other methods (section 3), besides every loss_lr.
MLRC_LOG_RANGES = {
    "ntxent": {"temperature": {"cub": (1e-4, 100), "cars196": (1e-5, 100), "sop": (1e-5, 100)}},
    "normalized_softmax": {"temperature": (0.01, 100)},
}
MULTI_SIMILARITY_FAMILY = ("multi_similarity", "multi_similarity_miner", "cwms", "mfcwms")


def _bounds(space, name):
    return space.params[name].low, space.params[name].high


@pytest.mark.parametrize("dataset", [None, *dataset_names()])
@pytest.mark.parametrize("spec", list_losses(), ids=lambda s: s.name)
def test_shipped_search_space_is_valid_on_every_dataset(spec, dataset):
    space = load_search_space(spec, dataset)
    assert space.params and space.dataset == dataset
    if spec.has_parameters:
        lr = space.params["loss_lr"]
        assert (lr.low, lr.high, lr.log) == (1e-6, 1.0, True)
    else:
        assert "loss_lr" not in space.params


@pytest.mark.parametrize("dataset", MLRC_DATASETS)
@pytest.mark.parametrize("name", [*MLRC_LINEAR_RANGES, *MLRC_LOG_RANGES])
def test_mlrc_methods_use_mlrc_bounds_and_scale_on_each_dataset(name, dataset):
    space = load_search_space(get_loss_spec(name), dataset)
    log = name in MLRC_LOG_RANGES
    for param, bounds in {**MLRC_LINEAR_RANGES, **MLRC_LOG_RANGES}[name].items():
        expected = bounds[dataset] if isinstance(bounds, dict) else bounds
        assert _bounds(space, param) == expected, param
        assert space.params[param].log is log, param
    assert space.origin == "mlrc2020"


def test_soft_triple_searches_no_regulariser_on_sop_as_mlrc():
    spec = get_loss_spec("soft_triple")
    sop = load_search_space(spec, "sop")
    assert "reg_weight" not in sop.params and sop.fixed["reg_weight"] == 0.0
    assert _bounds(load_search_space(spec, "cub"), "reg_weight") == (0, 1)
    assert sop.fixed["centers_per_class"] == 10


# MLRC's FastAP at batch 32: one trial per number of bins, the x axes of its plots
# docs/papers/mlrc_plots/{cub,cars,sop}_fast_ap.png (powerful-benchmarker b8a58ad).
MLRC_FASTAP_BINS_AT_BATCH_32 = {
    "cub": range(2, 33),
    "cars196": range(2, 33),
    "sop": range(3, 33),
}


@pytest.mark.parametrize("dataset", MLRC_DATASETS)
def test_fastap_at_batch_32_searches_mlrcs_integer_grid(dataset):
    space = load_search_space(get_loss_spec("fastap"), dataset, batch_size=32)
    distribution = space.params["num_bins"].distribution()
    assert type(distribution).__name__ == "IntDistribution" and distribution.step == 1
    values = range(distribution.low, distribution.high + 1)
    assert values == MLRC_FASTAP_BINS_AT_BATCH_32[dataset]
    assert space.batch_size is None


def test_fastap_from_batch_256_searches_mlrcs_batch_256_range():
    spec = get_loss_spec("fastap")
    for batch_size in (256, 512):
        space = load_search_space(spec, "cub", batch_size=batch_size)
        assert _bounds(space, "num_bins") == (2, 250) and space.batch_size == 256
    assert _bounds(load_search_space(spec, "cub", batch_size=255), "num_bins") == (2, 32)


BATCH_SPACE = """
params:
  alpha: {low: 0.0, high: 1.0, log: false}
  beta: {low: 0.0, high: 1.0, log: false}
datasets:
  cub: {params: {alpha: {low: 0.1}}, fixed: {beta: 0.5}}
batch_sizes:
  64: {params: {alpha: {high: 2.0}}}
  256: {params: {alpha: {high: 3.0}, beta: {high: 4.0}}}
"""


@pytest.mark.parametrize(
    ("dataset", "batch_size", "alpha", "beta", "applied"),
    [
        (None, None, (0.0, 1.0), (0.0, 1.0), None),
        (None, 32, (0.0, 1.0), (0.0, 1.0), None),
        (None, 64, (0.0, 2.0), (0.0, 1.0), 64),
        (None, 255, (0.0, 2.0), (0.0, 1.0), 64),
        (None, 300, (0.0, 3.0), (0.0, 4.0), 256),
        ("cub", 32, (0.1, 1.0), None, None),
        ("cub", 300, (0.1, 3.0), None, 256),  # the dataset's entry, then the batch size's
    ],
)
def test_batch_size_entries_apply_from_their_batch_size_up(
    tmp_path, dataset, batch_size, alpha, beta, applied
):
    path = tmp_path / "space.yaml"
    path.write_text(BATCH_SPACE)
    spec = get_loss_spec("multi_similarity")
    space = load_search_space(spec, dataset, path=path, batch_size=batch_size)
    assert _bounds(space, "alpha") == alpha
    if beta is None:  # fixed on CUB: a batch-size entry does not search it again
        assert "beta" not in space.params and space.fixed == {"beta": 0.5}
    else:
        assert _bounds(space, "beta") == beta
    assert space.batch_size == applied and space.batch_sizes == (64, 256)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("big: {params: {alpha: {high: 2.0}}}", "batch_sizes.big: a key must be a batch size"),
        ("0: {params: {alpha: {high: 2.0}}}", "batch_sizes.0: a key must be a batch size"),
        ("64: {params: {gamma: {high: 2.0}}}", r"batch_sizes.64.params: \['gamma'\] not declared"),
        (
            "64: {params: {alpha: {low: 5.0}}}",
            r"batch_sizes.64.params.alpha: low \(5.0\) is greater",
        ),
        ("64: {searched: {}}", r"batch_sizes.64: unknown key\(s\) \['searched'\]"),
    ],
)
def test_a_bad_batch_size_entry_fails_on_every_load(tmp_path, entry, message):
    path = tmp_path / "space.yaml"
    path.write_text(
        f"params:\n  alpha: {{low: 0.0, high: 1.0, log: false}}\nbatch_sizes:\n  {entry}\n"
    )
    with pytest.raises(ConfigError, match=message):
        load_search_space(get_loss_spec("multi_similarity"), "cub", path=path, batch_size=32)


def test_every_shipped_search_space_says_where_it_comes_from():
    origins = {spec.name: load_search_space(spec).origin for spec in list_losses()}
    assert set(origins.values()) <= set(ORIGINS)
    assert {name for name, origin in origins.items() if origin == "mlrc2020"} == {
        *MLRC_LINEAR_RANGES,
        *MLRC_LOG_RANGES,
    }


# Losses MLRC never ran: a quantity MLRC searched for another loss gets that loss's scale and
# bounds (the loss it resembles) on every dataset.
SHARED_WITH_MLRC = {
    ("circle", "m"): ("cosface", "margin"),
    ("circle", "gamma"): ("cosface", "scale"),
    ("supcon", "temperature"): ("ntxent", "temperature"),
    ("subcenter_arcface", "margin"): ("arcface", "margin"),
    ("subcenter_arcface", "scale"): ("arcface", "scale"),
    ("tuplet_margin", "margin"): ("arcface", "margin"),
    ("tuplet_margin", "scale"): ("arcface", "scale"),
    ("tuplet_margin", "variance_weight"): ("snr_contrastive", "regularizer_weight"),
    ("lifted_structure", "pos_margin"): ("contrastive", "pos_margin"),
    ("lifted_structure", "neg_margin"): ("contrastive", "neg_margin"),
    ("nca", "softmax_scale"): ("proxy_nca", "softmax_scale"),
}


@pytest.mark.parametrize("dataset", [None, *dataset_names()])
@pytest.mark.parametrize(("ours", "mlrc"), SHARED_WITH_MLRC.items(), ids=str)
def test_losses_mlrc_never_ran_search_shared_quantities_as_mlrc(ours, mlrc, dataset):
    (loss, param), (mlrc_loss, mlrc_param) = ours, mlrc
    space = load_search_space(get_loss_spec(loss), dataset)
    reference = load_search_space(get_loss_spec(mlrc_loss), dataset)
    assert space.params[param].to_dict() == reference.params[mlrc_param].to_dict()
    assert space.origin == "this project"


@pytest.mark.parametrize("dataset", [None, *dataset_names()])
def test_histogram_bins_take_fastaps_widest_range_which_holds_the_authors_bins(dataset):
    """FastAP's batch-32 grid stops at 32 bins; its batch-256 range [2, 250] holds the
    Histogram authors' 100-200 bins (bin width 0.01-0.02 over [-1, 1])."""
    bins = load_search_space(get_loss_spec("histogram"), dataset).params["n_bins"]
    widest = load_search_space(get_loss_spec("fastap"), "cub", batch_size=256)
    assert bins.to_dict() == widest.params["num_bins"].to_dict()
    assert bins.low <= 100 and bins.high >= 200


def test_tuplet_margins_variance_slacks_bracket_the_papers_over_two_decades():
    space = load_search_space(get_loss_spec("tuplet_margin"))
    for name in ("pos_eps", "neg_eps"):
        p = space.params[name]
        assert p.log and p.low * 100 <= 0.01 <= p.high / 100, name


def test_reference_page_states_proxy_anchors_ranges_as_its_file():
    paragraphs = [" ".join(p.split()) for p in REFERENCE_PAGE.read_text().split("\n\n")]
    (text,) = [p for p in paragraphs if p.startswith("**The paper's own losses and ProxyAnchor**")]
    spec = get_loss_spec("proxy_anchor")
    default, sop = load_search_space(spec), load_search_space(spec, "sop")
    for name in ("margin", "alpha"):
        p = default.params[name]
        assert f"{name} {p.scale} {p.bounds()}" in text, name
    assert f"(SOP {sop.params['alpha'].bounds()})" in text


def test_circle_file_cites_the_authors_fine_grained_retrieval_values_which_it_holds():
    """Sun et al. use m 0.4, gamma 80 for fine-grained image retrieval (0.25 is for faces)."""
    text = " ".join(get_loss_spec("circle").search_space_path.read_text().split())
    assert "fine-grained image retrieval, our task: m 0.4, gamma 80" in text
    space = load_search_space(get_loss_spec("circle"))
    assert space.params["m"].low < 0.4 < space.params["m"].high
    assert space.params["gamma"].low < 80 < space.params["gamma"].high


def test_sub_centers_bracket_the_authors_three_over_two_decades():
    p = load_search_space(get_loss_spec("subcenter_arcface")).params["sub_centers"]
    assert p.integer and p.log and p.low == 1 and p.high / p.low >= 100 and p.low < 3 < p.high


def test_mlrc_published_optima_on_sop_lie_inside_the_sop_ranges():
    arcface = load_search_space(get_loss_spec("arcface"), "sop").params["scale"]
    miner = load_search_space(get_loss_spec("multi_similarity_miner"), "sop").params["beta"]
    assert arcface.low <= 220.3 <= arcface.high  # MLRC's best SOP ArcFace scale
    assert miner.low <= 156.61 <= miner.high  # MLRC's best SOP MS+Miner beta
    assert load_search_space(get_loss_spec("arcface"), "cub").params["scale"].high == 200.0


@pytest.mark.parametrize("dataset", [None, *dataset_names()])
def test_shared_hyperparameters_have_one_distribution_across_losses(dataset):
    spaces = {spec.name: load_search_space(spec, dataset) for spec in list_losses()}
    for param in ("alpha", "beta", "base"):
        distributions = {
            name: spaces[name].params[param].to_dict() for name in MULTI_SIMILARITY_FAMILY
        }
        assert len({json.dumps(d, sort_keys=True) for d in distributions.values()}) == 1, (
            distributions
        )
    # The logit scale: ArcFace's and CosFace's scale, ProxyAnchor's alpha.
    logit_scales = [
        spaces["arcface"].params["scale"].to_dict(),
        spaces["cosface"].params["scale"].to_dict(),
        spaces["proxy_anchor"].params["alpha"].to_dict(),
    ]
    assert len({json.dumps(d, sort_keys=True) for d in logit_scales}) == 1, logit_scales
    learning_rates = {
        name: space.params["loss_lr"].to_dict()
        for name, space in spaces.items()
        if get_loss_spec(name).has_parameters
    }
    assert len(learning_rates) >= 6
    assert all(lr == {"low": 1e-6, "high": 1.0, "log": True} for lr in learning_rates.values())


def test_sop_arcface_trials_reach_scales_mlrc_searched_beyond_200():
    space = load_search_space(get_loss_spec("arcface"), "sop")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(lambda trial: space.suggest(trial)["scale"], n_trials=40)
    scales = [trial.params["scale"] for trial in study.trials]
    assert max(scales) > 200 and all(0.01 <= s <= 300 for s in scales)


def test_to_dict_is_plain_json_data():
    space = load_search_space(get_loss_spec("mfcwms"), "cub")
    data = json.loads(json.dumps(space.to_dict()))
    assert data["params"]["alpha"] == {"low": 0.001, "high": 100.0, "log": False}
    assert data["params"]["loss_lr"] == {"low": 1e-6, "high": 1.0, "log": True}
    assert data["fixed"] == {"mf_reg": 0.0, "mf_power": 2.0}


def test_mean_field_losses_fix_mf_reg_to_zero():
    for name in ("mfcont", "mfcwms"):
        assert load_search_space(get_loss_spec(name)).fixed["mf_reg"] == 0.0


MS_FILE = """\
params:
  alpha: {low: 0.01, high: 100, log: false}
  beta:  {low: 0.01, high: 100, log: true}
  base:  {low: 0.0,  high: 1.0, log: false}
"""


def test_a_dataset_entry_changes_only_the_keys_it_names(tmp_path):
    path = tmp_path / "ms.yaml"
    path.write_text(MS_FILE + "datasets:\n  sop: {params: {beta: {high: 300}}}\n")
    spec = get_loss_spec("multi_similarity")
    sop = load_search_space(spec, "sop", path=path)
    cub = load_search_space(spec, "cub", path=path)
    assert sop.params["beta"].to_dict() == {"low": 0.01, "high": 300.0, "log": True}
    assert cub.params["beta"].to_dict() == {"low": 0.01, "high": 100.0, "log": True}
    assert sop.params["alpha"] == cub.params["alpha"]


def test_a_dataset_entry_can_fix_a_searched_parameter_on_that_dataset_only(tmp_path):
    path = tmp_path / "ms.yaml"
    path.write_text(MS_FILE + "datasets:\n  sop: {fixed: {beta: 50.0}}\n")
    spec = get_loss_spec("multi_similarity")
    sop = load_search_space(spec, "sop", path=path)
    assert set(sop.params) == {"alpha", "base"} and sop.fixed == {"beta": 50.0}
    assert set(load_search_space(spec, "cub", path=path).params) == {"alpha", "beta", "base"}


def test_a_dataset_entry_can_change_a_fixed_value(tmp_path):
    path = tmp_path / "mfcwms.yaml"
    path.write_text(
        MS_FILE
        + "  loss_lr: {low: 1.0e-6, high: 1.0, log: true}\n"
        + "fixed: {mf_reg: 0.0}\ndatasets:\n  cars196: {fixed: {mf_reg: 0.5}}\n"
    )
    spec = get_loss_spec("mfcwms")
    assert load_search_space(spec, "cars196", path=path).fixed == {"mf_reg": 0.5}
    assert load_search_space(spec, "sop", path=path).fixed == {"mf_reg": 0.0}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "params:\n  alpha: {low: 1, high: 2, lgo: true}\n",
            r"params.alpha: unknown key\(s\) \['lgo'\]",
        ),
        (
            "params:\n  alpha: {low: 5, high: 2, log: false}\n",
            r"params.alpha: low \(5\) is greater than high \(2\)",
        ),
        (
            "params:\n  alpha: {low: 0, high: 2, log: true}\n",
            r"params.alpha: a log range needs low > 0",
        ),
        ("params:\n  alpha: {low: 0.1, high: 2}\n", r"params.alpha: 'log' is required"),
        ("params:\n  gamma: {low: 0, high: 2, log: false}\n", r"does not accept \['gamma'\]"),
        ("parameters:\n  alpha: {low: 0, high: 2}\n", r"unknown key\(s\) \['parameters'\]"),
        ("params:\n  alpha: {low: 1 high: 2}\n", r"malformed YAML"),
        ("params:\n  loss_lr: {low: 1.0e-6, high: 1, log: true}\n", r"no trainable parameters"),
        (
            MS_FILE + "datasets:\n  sopp: {params: {beta: {high: 200}}}\n",
            r"datasets.sopp: unknown dataset 'sopp'; available datasets: cub, cars196, sop",
        ),
        (
            MS_FILE + "datasets:\n  sop: {params: {gamma: {high: 2}}}\n",
            r"datasets.sop.params: \['gamma'\] not declared in the top-level 'params'",
        ),
        (
            MS_FILE + "datasets:\n  sop: {params: {base: {high: -1}}}\n",
            r"datasets.sop.params.base: low \(0.0\) is greater than high \(-1\)",
        ),
        (
            MS_FILE + "datasets:\n  sop: {params: {beta: {log: yes please}}}\n",
            r"datasets.sop.params.beta.log: expected true or false",
        ),
        (
            MS_FILE + "datasets:\n  sop: {ranges: {}}\n",
            r"datasets.sop: unknown key\(s\) \['ranges'\]",
        ),
        (
            MS_FILE + "datasets:\n  sop: {params: {beta: 200}}\n",
            r"datasets.sop.params.beta: expected a mapping like \{high: 300\}",
        ),
        (
            MS_FILE + "datasets:\n  sop: {params: {beta: {high: 9}}, fixed: {beta: 1}}\n",
            r"datasets.sop: \['beta'\] appear in both 'params' and 'fixed'",
        ),
        (
            MS_FILE + "datasets:\n  sop: {fixed: {gamma: 1}}\n",
            r"datasets.sop.fixed: \['gamma'\] not declared",
        ),
        (
            "params:\n  alpha: {low: 1, high: 2.5, int: true, log: false}\n",
            r"params.alpha: an integer range needs integer low, high and step",
        ),
        (
            "params:\n  alpha: {low: 1, high: 2, int: 1, log: false}\n",
            r"params.alpha.int: expected true or false",
        ),
        ("origin: mlrc\n" + MS_FILE, r"origin 'mlrc' is not one of 'mlrc2020', 'paper'"),
    ],
)
def test_bad_search_space_names_file_and_key(tmp_path, body, message):
    path = tmp_path / "cwms.yaml"
    path.write_text(body)
    # loaded for CUB: a broken entry of another dataset still stops the load
    with pytest.raises(ConfigError, match=message) as info:
        load_search_space(get_loss_spec("cwms"), "cub", path=path)
    assert str(path) in str(info.value)


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(
        UnknownDatasetError, match="unknown dataset 'sopp'; available datasets: cub,"
    ):
        load_search_space(get_loss_spec("cwms"), "sopp")


def test_loss_with_parameters_must_search_or_fix_loss_lr(tmp_path):
    path = tmp_path / "mfcwms.yaml"
    path.write_text("params:\n  alpha: {low: 0.1, high: 1, log: false}\n")
    with pytest.raises(ConfigError, match="must set loss_lr"):
        load_search_space(get_loss_spec("mfcwms"), path=path)


def test_table_has_a_row_per_loss_and_parameter_with_its_per_dataset_ranges():
    table = search_space_table([get_loss_spec("multi_similarity"), get_loss_spec("mfcwms")])
    lines = table.splitlines()
    assert len(lines) == 2 + 3 + 6  # header, MS alpha/beta/base, MFCWMS 4 params + 2 fixed
    assert "| MS (`multi_similarity`) | alpha | linear | [0.01, 100] | cub: [0.001, 100] |" in table
    assert "|  | beta | linear | [0.01, 100] | sop: [0.01, 200] |" in table
    assert "|  | loss_lr | log | [1e-06, 1] |  |" in table
    assert "|  | mf_reg | fixed | 0.0 |  |" in table


def test_docs_tables_match_the_registry_and_the_search_space_files():
    match = re.search(
        r"<!-- search-spaces:begin -->\n(.*?)<!-- search-spaces:end -->",
        LOSSES_PAGE.read_text(),
        re.S,
    )
    assert match, "docs/losses.md lacks the <!-- search-spaces:begin/end --> block"
    expected = loss_table(list_losses()) + "\n" + search_space_table(list_losses())
    assert match[1] == expected, (
        "docs/losses.md's loss tables are out of date: replace the block with the output of "
        "`mlrc losses --markdown`"
    )


def test_loss_table_has_a_row_per_loss_with_its_origin_and_meaning():
    table = loss_table([get_loss_spec("margin"), get_loss_spec("circle")])
    lines = table.splitlines()
    assert len(lines) == 2 + 2
    assert lines[2].startswith("| Margin | `margin` | pair | yes (weight decay 0) | mlrc2020 |")
    assert lines[3].startswith("| Circle | `circle` | pair | no | this project | Circle loss")


def test_table_shows_a_parameter_fixed_on_one_dataset_and_integer_ranges():
    table = search_space_table([get_loss_spec("soft_triple"), get_loss_spec("fastap")])
    assert "|  | reg_weight | linear | [0, 1] | sop: fixed 0.0 |" in table
    assert "| SoftTriple (`soft_triple`) | la | linear | [0.01, 100] | sop: [0.01, 200] |" in table
    assert (
        "| FastAP (`fastap`) | num_bins | linear, integer | [2, 32] | sop: [3, 32]; "
        "batch >= 256: [2, 250] |"
    ) in table
