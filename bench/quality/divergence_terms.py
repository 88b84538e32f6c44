"""Which loss term drives D where: per-term gradient norms over the first steps.

    .venv/bin/python -m bench.quality.divergence_terms [--images DIR --tags-csv CSV] [--steps 40] [--set
    NAME=VALUE ...]

Trains the given settings (default: the configuration that diverged in
issue 16: n=64, no auxiliary head, no mode-seeking term, condition only at
the bottleneck, wrong-condition weight 1.0 from the first step, the course's
form of the term; `--set wrong_form=margin` for the fix) and prints,
every few steps, L(x), the wrong-condition loss, and the norms of D's
gradients of L(x) alone, of the wrong term alone, and of their weighted sum
as D's loss uses it. When the sum's norm is a small fraction of L(x)'s, the
wrong term cancels the reconstruction pressure: D is then free to grow its
outputs, which is how the run blows up.
"""

from bench import real_data

DIVERGED = {
    "filters": 64,
    "aux_weight": 0.0,
    "diversity_weight": 0.0,
    "cond_every_scale": False,
    "wrong_weight": "1.0",
    "wrong_warmup": 0,
    "ema_decay": 0.0,
    "precision": "fp32",
    "wrong_form": "course",
}


def main():
    p = real_data.parser(__doc__, __spec__)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--every", type=int, default=4)
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = p.parse_args()
    import dataclasses

    import numpy as np
    import tensorflow as tf

    from model import losses, precision
    from model.began import CondBEGAN
    from model.config import TrainConfig
    from model.real_filter import keep_mask
    from preprocess.cache import build_or_load
    from preprocess.dataset import make_dataset
    from preprocess.spec import DataSpec
    from training.trainer import with_noise

    settings = dict(DIVERGED)
    for item in args.set:
        name, value = item.split("=", 1)
        kind = type(getattr(TrainConfig(), name))
        settings[name] = value.lower() in ("1", "true", "on") if kind is bool else kind(value)
    cfg = dataclasses.replace(TrainConfig(images=args.images, tags_csv=args.tags_csv), **settings)  # checked
    precision.apply(cfg.precision)
    data = build_or_load(DataSpec(cfg.images, cfg.tags_csv, size=cfg.image_size), progress=False)
    cfg = dataclasses.replace(cfg, cond_dim=data.vocab.dim)
    tf.keras.utils.set_random_seed(cfg.seed)
    model = CondBEGAN(
        cfg,
        data.vocab.dim,
        [len(v) for v in data.vocab.groups.values()],
        data.combo,
        data.combo_conditions,
        data.labels,
    )
    model.build_optimizers()
    rows = np.asarray(data.train_indices())

    def batches():  # epoch after epoch, as the trainer draws them
        epoch = 0
        while True:
            yield from with_noise(
                make_dataset(data, rows, cfg.batch_size, seed=cfg.seed, epoch=epoch), cfg, epoch, 0
            )
            epoch += 1

    d_vars = None

    def norm(grads):
        return float(tf.linalg.global_norm([g for g in grads if g is not None]))

    print(f"{'step':>5} {'L(x)':>8} {'L_wrong':>8} {'|dL(x)|':>9} {'|dWrong|':>9} {'|dL_D|':>9} {'ratio':>6}")
    for step, batch in zip(range(args.steps), batches()):
        if step % args.every == 0:
            images, cond, index, *_ = batch
            d_vars = model.discriminator.trainable_variables
            with tf.GradientTape(persistent=True) as tape:
                h, _ = model.encoder(images, training=True)
                wrong = model._wrong_conditions(index, batch[5])
                l_real = losses.reconstruction_loss(images, model.decoder([h, cond], training=True))
                l_wrong = losses.reconstruction_loss(images, model.decoder([h, wrong], training=True))
                kept = keep_mask(l_real, model.state.threshold)
                real_term = losses.masked_mean(l_real, kept)
                weight = losses.warmup_weight(
                    float(cfg.wrong_weight) if cfg.wrong_weight != "k" else model.state.k,
                    model.state.step,
                    cfg.wrong_warmup,
                )
                wrong_term = weight * losses.masked_mean(
                    losses.wrong_condition_term(cfg.wrong_form, l_wrong, l_real, cfg.wrong_cap), kept
                )
                both = real_term - wrong_term
            g_real, g_wrong, g_both = (norm(tape.gradient(t, d_vars)) for t in (real_term, wrong_term, both))
            print(
                f"{step:5d} {float(real_term):8.4f} {float(tf.reduce_mean(l_wrong)):8.4f} {g_real:9.4f} "
                f"{g_wrong:9.4f} {g_both:9.4f} {g_both / max(g_real, 1e-12):6.2f}",
                flush=True,
            )
        model.train_step(batch)


if __name__ == "__main__":
    main()
