"""Generator, critic and keyword conditioning: shapes, conditioning errors, critic normalisation."""

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from designgan.config import ConfigError
from designgan.models import Critic, Generator, KeywordEmbedding, normalize_multi_hot
from designgan.models.critic import minibatch_std

BATCH = 3


def _keywords(batch: int = BATCH, num_keywords: int = 4) -> torch.Tensor:
    keywords = torch.zeros(batch, num_keywords)
    keywords[:, 0] = 1.0
    keywords[1:, 2] = 1.0
    return keywords


@pytest.mark.parametrize("resolution_px", [32, 64, 128])
@pytest.mark.parametrize("num_keywords", [0, 4])
def test_generator_output_shape(tiny_model_config, resolution_px, num_keywords):
    config = tiny_model_config(resolution_px=resolution_px, num_keywords=num_keywords)
    keywords = _keywords() if num_keywords else None
    images = Generator(config)(torch.randn(BATCH, config.latent_dim), keywords)
    assert images.shape == (BATCH, 3, resolution_px, resolution_px)


def test_generator_output_range(tiny_model_config):
    config = tiny_model_config()
    images = Generator(config)(torch.randn(BATCH, config.latent_dim) * 100, _keywords())
    assert images.abs().max() <= 1.0


@pytest.mark.parametrize("resolution_px", [32, 64, 128])
@pytest.mark.parametrize("num_keywords", [0, 4])
@pytest.mark.parametrize("critic_norm", ["spectral", "batch", "none"])
def test_critic_output_shape(tiny_model_config, resolution_px, num_keywords, critic_norm):
    config = tiny_model_config(resolution_px=resolution_px, num_keywords=num_keywords, critic_norm=critic_norm)
    keywords = _keywords() if num_keywords else None
    scores = Critic(config)(torch.randn(BATCH, 3, resolution_px, resolution_px), keywords)
    assert scores.shape == (BATCH,)


@pytest.mark.parametrize("resolution_px", [32, 64, 128])
def test_widest_layer_channels(tiny_model_config, resolution_px):
    # ModelConfig.width documents the widest layer as width * resolution_px / 8 channels.
    config = tiny_model_config(resolution_px=resolution_px)
    expected = config.width * resolution_px // 8
    generator_convs = [m for m in Generator(config).modules() if isinstance(m, nn.ConvTranspose2d)]
    critic_convs = [m for m in Critic(config).modules() if isinstance(m, nn.Conv2d)]
    assert max(m.out_channels for m in generator_convs) == expected
    assert max(m.out_channels for m in critic_convs) == expected


def test_generator_conditional_needs_keywords(tiny_model_config):
    config = tiny_model_config()
    with pytest.raises(ValueError, match="conditional"):
        Generator(config)(torch.randn(BATCH, config.latent_dim))


def test_critic_conditional_needs_keywords(tiny_model_config):
    with pytest.raises(ValueError, match="conditional"):
        Critic(tiny_model_config())(torch.randn(BATCH, 3, 32, 32))


def test_generator_keywords_change_output(tiny_model_config):
    config = tiny_model_config()
    generator = Generator(config).eval()
    z = torch.randn(1, config.latent_dim).expand(2, -1)
    keywords = torch.tensor([[1.0, 0, 0, 0], [0, 0, 0, 1.0]])
    images = generator(z, keywords)
    assert not torch.allclose(images[0], images[1])


def test_critic_keywords_change_score(tiny_model_config):
    critic = Critic(tiny_model_config(critic_norm="none")).eval()
    images = torch.randn(1, 3, 32, 32).expand(2, -1, -1, -1)
    keywords = torch.tensor([[1.0, 0, 0, 0], [0, 0, 0, 1.0]])
    scores = critic(images, keywords)
    assert scores[0] != scores[1]


def test_critic_norm_none_has_no_normalisation(tiny_model_config):
    critic = Critic(tiny_model_config(critic_norm="none"))
    modules = list(critic.modules())
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in modules)
    assert not any(parametrize.is_parametrized(m) for m in modules)


def test_critic_norm_batch_has_batchnorm(tiny_model_config):
    critic = Critic(tiny_model_config(critic_norm="batch"))
    assert any(isinstance(m, nn.BatchNorm2d) for m in critic.modules())


def test_critic_norm_spectral_wraps_every_weight(tiny_model_config):
    critic = Critic(tiny_model_config(critic_norm="spectral", minibatch_std_group=4))
    layers = [m for m in critic.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == 6  # 3 convolutions at 32 px, the minibatch-std merge, the head and the projection
    for layer in layers:
        assert parametrize.is_parametrized(layer, "weight"), layer


def test_critic_norm_spectral_has_no_batchnorm(tiny_model_config):
    critic = Critic(tiny_model_config(critic_norm="spectral"))
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in critic.modules())


def test_unconditional_models_have_no_keyword_layers(tiny_model_config):
    config = tiny_model_config(num_keywords=0)
    assert Generator(config).embedding is None
    assert Critic(config).projection is None


@pytest.mark.parametrize("field, value", [("resolution_px", 48), ("width", 2), ("critic_norm", "layer")])
def test_models_reject_invalid_config(tiny_model_config, field, value):
    with pytest.raises(ConfigError, match=field):
        Generator(tiny_model_config(**{field: value}))


def test_normalize_multi_hot_rows_sum_to_one():
    rows = normalize_multi_hot(torch.tensor([[1.0, 1.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0]]))
    assert torch.allclose(rows.sum(dim=1), torch.ones(2))


def test_normalize_multi_hot_empty_row_stays_zero():
    rows = normalize_multi_hot(torch.zeros(1, 4))
    assert torch.equal(rows, torch.zeros(1, 4))


def test_keyword_embedding_is_mean_of_members():
    embedding = KeywordEmbedding(num_keywords=4, embed_dim=3)
    vector = embedding(torch.tensor([[1.0, 0.0, 1.0, 0.0]]))
    assert torch.allclose(vector[0], (embedding.weight[0] + embedding.weight[2]) / 2)


def test_minibatch_std_sees_identical_batch():
    features = torch.randn(8, 4, 4, 4)
    same = features[:1].repeat(8, 1, 1, 1)
    assert minibatch_std(same, 4)[:, -1].abs().max() < 1e-3
    assert minibatch_std(features, 4)[:, -1].min() > 0.1


def test_minibatch_std_groups_stay_apart():
    real = torch.zeros(4, 2, 4, 4)
    fake = torch.randn(4, 2, 4, 4)
    channel = minibatch_std(torch.cat([real, fake]), 4)[:, -1]
    assert channel[:4].abs().max() < 1e-3
    assert channel[4:].min() > 0.1


def test_minibatch_std_off_adds_no_layer(tiny_model_config):
    critic = Critic(tiny_model_config(minibatch_std_group=0))
    assert critic.merge is None
