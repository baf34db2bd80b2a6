"""Every TrainConfig field is classified once; the resume check, the sweep and the CLI follow it."""

import dataclasses

import pytest

import ganlab
from ganlab import cli, config, sweep
from ganlab.config import TrainConfig

OPTIONS = config.options()


def test_every_field_is_classified_with_help_and_a_group():
    assert list(OPTIONS) == [f.name for f in dataclasses.fields(TrainConfig)]
    for name, o in OPTIONS.items():
        assert o.help and o.group in config.GROUPS, name
        assert o.sweep in (config.HONOURS, config.REFUSES, config.IGNORES), name
        assert o.flag is not None or o.no_flag_why, name


def test_a_field_added_without_classification_fails():
    unclassified = dataclasses.make_dataclass(
        "Extended",
        [("warmup_steps", int, dataclasses.field(default=0))],
        bases=(TrainConfig,),
        frozen=True,
    )
    with pytest.raises(TypeError, match="Extended.warmup_steps is not classified"):
        config.options(unclassified)
    classified = dataclasses.make_dataclass(
        "Extended",
        [("warmup_steps", int, config.option(0, "steps", group="run", defines_run=True))],
        bases=(TrainConfig,),
        frozen=True,
    )
    assert "warmup_steps" in config.defines_run(classified)
    assert config.options(classified)["warmup_steps"].flag == "--warmup-steps"


def test_an_incomplete_classification_is_refused():
    with pytest.raises(ValueError, match="sweep_why"):
        config.Option("h", "run", True, config.IGNORES)
    with pytest.raises(ValueError, match="no_flag_why"):
        config.Option("h", "run", True, config.HONOURS, flag=None)
    with pytest.raises(ValueError, match="unknown option group"):
        config.Option("h", "elsewhere", True, config.HONOURS, flag="--x")


# The fields TrainConfig had when train.py and sweep.py still listed them by hand (a new field
# is classified where it is defined and needs no edit here).
BEFORE = (
    "num_steps batch_real batch_fake batch_g k_disc lr_g lr_d betas loss r1 r2 seed device "
    "log_every progress bf16 channels_last compile compile_backend compile_mode cuda_graph "
    "fused_adam reuse_fake ema_decay checkpoint_path checkpoint_every sync_batchnorm"
).split()


def test_the_derived_lists_are_the_ones_the_trainer_and_sweep_had_by_hand():
    # the resume check and the sweep's refusals, as _MUST_MATCH and _SINGLE_RUN_ONLY listed them
    assert set(BEFORE) <= set(OPTIONS)
    assert set(config.defines_run()) & set(BEFORE) == {
        "batch_real",
        "batch_fake",
        "batch_g",
        "k_disc",
        "lr_g",
        "lr_d",
        "betas",
        "loss",
        "seed",
        "bf16",
        "reuse_fake",
        "ema_decay",
        "r1",
        "r2",
    }
    refused = {
        n: o.sweep_needs for n, o in OPTIONS.items() if o.sweep == config.REFUSES and n in BEFORE
    }
    assert refused == {
        "bf16": False,
        "channels_last": False,
        "compile": False,
        "cuda_graph": False,
        "reuse_fake": False,
        "checkpoint_path": None,
        "sync_batchnorm": False,
        "r1": 0.0,
        "r2": 0.0,
    }


def _other_value(name):
    """A valid value of field ``name`` other than its default."""
    default = getattr(TrainConfig(), name)
    special = dict(
        loss="hinge",
        device="cpu",
        compile_backend="aot_eager",
        compile_mode="max-autotune",
        betas=(0.25, 0.75),
        checkpoint_path="elsewhere.pt",
        fused_adam=True,
        ema_decay=0.5,
        lr_milestones=(500, 1000),
    )
    if name in special:
        return special[name]
    if isinstance(default, bool):
        return not default
    if isinstance(default, int):
        return default + 2
    return 0.5 if default == 0 else default / 2


@pytest.mark.parametrize("name", list(OPTIONS))
def test_resume_refuses_exactly_the_run_defining_changes(name):
    saved = dataclasses.asdict(TrainConfig())
    differ = config.changed(saved, dataclasses.replace(TrainConfig(), **{name: _other_value(name)}))
    assert bool(differ) == OPTIONS[name].defines_run
    if differ:
        assert differ == {name: (saved[name], _other_value(name))}


@pytest.mark.parametrize("name", [n for n, o in OPTIONS.items() if o.sweep == config.REFUSES])
def test_the_sweep_refuses_each_refused_setting_by_name(name):
    cfg = dataclasses.replace(
        TrainConfig(num_steps=1, progress=False), **{name: _other_value(name)}
    )
    with pytest.raises(ValueError, match=f"does not support cfg.{name}="):
        sweep.run(ganlab.ring(), (0,), cfg, hidden=4, depth=1)


@pytest.mark.parametrize("kind", ["dcgan", "toy"])
def test_help_lists_every_flag_grouped_with_prog_and_version(kind, capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", kind, "-h"], prog="python -m ganlab")
    text = capsys.readouterr().out
    assert text.startswith(f"usage: python -m ganlab train {kind} ")
    for name, o in OPTIONS.items():
        if o.flag is not None:
            assert o.flag in text, name
    for group in config.GROUPS:
        assert f"\n{group} options:\n" in text
    assert "--version" in text and "(default: " in text
    with pytest.raises(SystemExit):
        cli.main(["train", kind, "--version"])
    assert capsys.readouterr().out.startswith(f"ganlab {ganlab.__version__}")


def _args(kind, *flags):
    return cli.build_parser().parse_args(["train", kind, "--out", "run", *flags])


@pytest.mark.parametrize("name", [n for n, o in OPTIONS.items() if o.flag is not None])
def test_every_flag_reaches_the_train_config(name):
    value = _other_value(name)
    o = OPTIONS[name]
    if isinstance(value, bool):
        flags = [o.flag if value else "--no-" + o.flag[2:]]
    elif isinstance(value, tuple):
        flags = [o.flag, *map(str, value)]
    else:
        flags = [o.flag, str(value)]
    cfg = cli._config(_args("toy", *flags), "toy")
    assert getattr(cfg, name) == value
    assert cfg == dataclasses.replace(
        TrainConfig(checkpoint_every=500, checkpoint_path=cfg.checkpoint_path), **{name: value}
    )


def test_convenience_flags_set_several_fields_and_the_specific_ones_win():
    cfg = cli._config(
        _args("dcgan", "--lr", "1e-4", "--lr-d", "3e-4", "--batch-size", "32", "--batch-g", "16"),
        "dcgan",
    )
    assert (cfg.lr_g, cfg.lr_d) == (1e-4, 3e-4)
    assert (cfg.batch_real, cfg.batch_fake, cfg.batch_g) == (32, 32, 16)
    plain = cli._config(_args("dcgan"), "dcgan")  # the DCGAN's own defaults
    assert (plain.lr_g, plain.lr_d, plain.batch_real) == (2e-4, 2e-4, 128)
    cfg = cli._config(
        _args("dcgan", "--betas", "0", "0.9", "--r2", "1.5", "--k-disc", "2"), "dcgan"
    )
    assert (cfg.betas, cfg.r2, cfg.k_disc) == ((0.0, 0.9), 1.5, 2)
