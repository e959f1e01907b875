"""The channel chains: each is deterministic and changes a real recording the way its name says."""

import json

import numpy as np
import pytest

from emoaugnet.data import audio
from emoaugnet.store import augment
from emoaugnet.store import augmentations as A
from helpers.featurestore import FIXTURE, params

SR = 22050
CHANNEL = ("reverb", "telephone", "lowpass", "highpass", "eq", "gain", "clip", "mp3", "colornoise")
P = params(**{"augment.variants": [[name] for name in CHANNEL]})
CHAINS = A.make_chains(P.augment)
CLIP = audio.load_clip(FIXTURE / "Actor_01/03-01-05-01-01-01-01.flac", P.audio)
OTHER = audio.load_clip(FIXTURE / "Actor_02/03-01-05-01-01-01-02.flac", P.audio)


def run(name, y=CLIP, utterance="03-01-05-01-01-01-01"):
    """Output of chain ``name`` on ``y`` and what it drew, seeded as the augment stage seeds variant k."""
    k = 1 + CHANNEL.index(name)
    out = A.apply_chain(CHAINS[k], y, SR, A.seed_for(P.seed, utterance, k))
    return out, A.drawn_parameters(CHAINS[k])


def band_energy(y, low, high):
    """Share of ``y``'s energy between ``low`` and ``high`` Hz (one FFT of the whole clip)."""
    power = np.abs(np.fft.rfft(y.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(y), 1 / SR)
    return power[(freqs >= low) & (freqs < high)].sum() / power.sum()


@pytest.mark.parametrize("name", CHANNEL)
def test_chain_is_deterministic_and_draws_per_utterance(name):
    first, drawn = run(name)
    again, drawn_again = run(name)
    assert first.dtype == np.float32 and first.shape == CLIP.shape and np.all(np.isfinite(first))
    assert np.array_equal(first, again) and drawn == drawn_again
    json.dumps(drawn)                                   # the shard stores it as JSON
    assert not np.array_equal(first, CLIP)             # it changed the signal
    if name != "telephone":                            # telephone draws nothing: its band is fixed
        _, other = run(name, utterance="03-01-05-01-01-01-02")
        assert other != drawn


def test_lowpass_leaves_no_energy_above_the_drawn_cutoff():
    out, drawn = run("lowpass")
    cutoff = drawn[0]["cutoff_freq"]
    assert 3000 <= cutoff <= 8000
    assert band_energy(CLIP, cutoff * 2, SR / 2) > 1e-4            # the original has energy there
    assert band_energy(out, cutoff * 2, SR / 2) < 1e-6             # one octave on: 48 dB/octave down
    assert band_energy(out, 0, cutoff / 2) / band_energy(CLIP, 0, cutoff / 2) > 0.9   # passband kept


def test_highpass_removes_energy_below_the_drawn_cutoff():
    out, drawn = run("highpass")
    cutoff = drawn[0]["cutoff_freq"]
    assert 100 <= cutoff <= 500
    assert band_energy(out, 0, cutoff / 2) < 0.05 * band_energy(CLIP, 0, cutoff / 2)


def test_telephone_band_is_300_to_3400_hz():
    out, _ = run("telephone")
    # beyond the roll-off (half an octave below 300 Hz, one above 3,400 Hz): next to nothing left
    assert band_energy(out, 0, 212) < 1e-3 * band_energy(CLIP, 0, 212) + 1e-7
    assert band_energy(CLIP, 6800, SR / 2) > 1e-4
    assert band_energy(out, 6800, SR / 2) < 1e-6
    assert band_energy(out, 300, 3400) > 0.95


def test_gain_changes_rms_by_the_drawn_db():
    out, drawn = run("gain")
    db = 20 * np.log10(audio_rms(out) / audio_rms(CLIP))
    assert db == pytest.approx(20 * np.log10(drawn[0]["amplitude_ratio"]), abs=0.01)
    assert -12 <= db <= 6


def audio_rms(y):
    return float(np.sqrt(np.mean(np.square(y, dtype=np.float64))))


def test_clipping_caps_the_peak_at_the_drawn_percentiles():
    out, drawn = run("clip")
    pct = drawn[0]["percentile_threshold"]
    low, high = np.percentile(CLIP, [pct // 2, 100 - pct // 2])
    assert 2 <= pct <= 20
    assert out.max() == pytest.approx(high, abs=1e-6) and out.min() == pytest.approx(low, abs=1e-6)
    assert np.max(np.abs(out)) < 0.5 * np.max(np.abs(CLIP))      # speech peaks are rare: the cap is low
    assert np.mean((out == out.max()) | (out == out.min())) >= (pct // 2) / 100 * 0.9


def test_reverb_spreads_energy_in_time():
    out, drawn = run("reverb")
    rt60 = drawn[0]["rt60"]
    assert 0.2 <= rt60 <= 0.8
    # an impulse in silence: the dry one ends at once, the reverberant one decays over about rt60
    impulse = np.zeros(SR, np.float32)
    impulse[100] = 0.5
    wet = A.apply_chain(CHAINS[1 + CHANNEL.index("reverb")], impulse, SR, 7)
    rt = A.drawn_parameters(CHAINS[1 + CHANNEL.index("reverb")])[0]["rt60"]
    energy = np.cumsum(wet[100:].astype(np.float64)[::-1] ** 2)[::-1]          # Schroeder integral
    decay_db = 10 * np.log10(energy / energy[0])
    t20 = np.argmax(decay_db < -20) / SR                                      # time to fall 20 dB
    assert t20 == pytest.approx(rt / 3, rel=0.35)                             # -60 dB at rt60
    # on speech: the envelope is smeared, so the quietest frames of the clip get louder
    def frames(y):
        return np.sqrt(np.mean(y[: len(y) // 512 * 512].reshape(-1, 512) ** 2, axis=1))
    assert np.percentile(frames(out), 10) > 1.5 * np.percentile(frames(CLIP), 10)


def test_mp3_differs_but_correlates_highly():
    out, drawn = run("mp3")
    assert 16 <= drawn[0]["bitrate"] <= 64
    assert not np.allclose(out, CLIP, atol=1e-3)
    assert np.corrcoef(out, CLIP)[0, 1] > 0.9


def test_colour_noise_has_the_drawn_spectral_slope():
    silent = np.zeros(SR * 4, np.float32)
    silent[::997] = 1e-3                 # AddColorNoise sets SNR against the signal's RMS: not zero
    chain = A.make_chains(params(**{"augment.variants": [["colornoise"]]}).augment)[1]
    decays, slopes = [], []
    for seed in range(1, 7):
        noise = A.apply_chain(chain, silent, SR, seed) - silent
        decays.append(A.drawn_parameters(chain)[0]["f_decay"])
        power = np.abs(np.fft.rfft(noise.astype(np.float64))) ** 2
        freqs = np.fft.rfftfreq(len(noise), 1 / SR)
        octaves = [(f, 2 * f) for f in (500, 1000, 2000, 4000)]
        db = [10 * np.log10(power[(freqs >= a) & (freqs < b)].mean()) for a, b in octaves]
        slopes.append(np.polyfit(np.arange(len(db)), db, 1)[0])           # dB per octave
    # each draw's measured slope is within 2 dB/octave of its f_decay (audiomentations shapes the noise
    # with a 128-point filter: not exact), and they follow the draws
    assert np.max(np.abs(np.subtract(slopes, decays))) < 2.0
    assert np.corrcoef(slopes, decays)[0, 1] > 0.95


def test_configuring_a_new_chain_leaves_default_shard_attributes_unchanged(tmp_path):
    base = params()
    attrs = augment.shard_attrs("ravdess", "01", base)
    assert set(attrs["augment"]["transforms"]) == {"noise", "pitch", "slow", "fast", "shift"}
    assert attrs["audio"] == {"sample_rate": 22050, "offset": 0.6, "duration": 2.5}
    with_reverb = augment.shard_attrs("ravdess", "01", params(**{"augment.variants": [["noise"], ["reverb"]]}))
    assert set(with_reverb["augment"]["transforms"]) == {"noise", "reverb"}
