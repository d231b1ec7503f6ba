//! The sector segmentation network: a small U-Net over a downsampled luma
//! frame.
//!
//! # Why 64×80
//!
//! Scanner frames are 4:3-ish, 640×480 to 1024×768. Area-averaged to 80×64
//! (W×H) that is a factor of 8 to 12.8 per side. One coarse pixel is then
//! 8–13 full-resolution pixels, which is enough to place the fan's straight
//! edges and arc to about one coarse pixel; the shared geometry fit
//! ([`sonomask_core::fit`]) turns the coarse probability map into fans and
//! rectangles with sub-pixel edges at full resolution, so the network never
//! has to be sharper than that. And it is small enough for the cart: the whole
//! net costs under 10 M multiply-accumulates and under 64 KiB of int8
//! weights (see [`ModelConfig::layers`]).
//!
//! # Context
//!
//! The 4×5 level (two 3×3 convs after a fourth pool, added back at 8×10)
//! gives the bottleneck a receptive field of the whole frame for a few
//! hundred thousand MACs. It replaced a second 3×3 conv at 8×10: on the
//! synthetic benchmark (threshold pretrain + 20-clip refine, 40 test clips)
//! pixel accuracy went from 0.957 to 0.962 with fewer MACs (8.2 M vs 8.8 M);
//! M-mode/spectral strips, whose dark interior only context identifies,
//! gained most.
//!
//! # Ops
//!
//! Only what the int8 engine in `sonomask-core` will implement: 3×3 and 1×1
//! convolutions (stride 1, same padding), BatchNorm (folded into the
//! convolution before quantizing), ReLU, 2×2 max pooling, ×2 nearest
//! upsampling and element-wise add for the skips (add rather than concat:
//! a concat would double the input channels of the decoder's 3×3 convs and
//! blow the MAC budget at 32×40 and 64×80).
//!
//! # Determinism
//!
//! Weights are drawn from a seeded [`rand::rngs::StdRng`], not from burn's
//! process-global backend RNG (which parallel tests would share), and every
//! parameter gets a [`ParamId`] numbered in construction order instead of a
//! random one. burn writes the ids into the checkpoint, so this is what makes
//! two runs with the same seed produce the same checkpoint bytes.

use burn::config::Config;
use burn::module::{Module, Param, ParamId, RunningState};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Network input height (coarse pixels).
pub const INPUT_H: usize = 64;
/// Network input width (coarse pixels).
pub const INPUT_W: usize = 80;

/// Architecture of [`SectorNet`]. Written into every checkpoint's JSON so a
/// checkpoint can be rebuilt without guessing.
#[derive(Config, Debug, PartialEq)]
pub struct ModelConfig {
    /// Input height; must be divisible by 16 (four 2×2 pools).
    #[config(default = 64)]
    pub input_h: usize,
    /// Input width; must be divisible by 16.
    #[config(default = 80)]
    pub input_w: usize,
    /// Encoder channels at full, 1/2 and 1/4 resolution.
    #[config(default = "[8, 16, 32]")]
    pub encoder: [usize; 3],
    /// Bottleneck channels at 1/8 and 1/16 resolution (8×10 and 4×5 for a
    /// 64×80 input).
    #[config(default = 40)]
    pub bottleneck: usize,
}

/// What a layer is, for counting and for the int8 exporter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum LayerKind {
    /// Convolution + BatchNorm + ReLU (BN folded before export).
    ConvBnRelu,
    /// Plain convolution with bias (the logit head).
    Conv,
}

/// One convolution of the network with its output size.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LayerShape {
    pub name: &'static str,
    pub kind: LayerKind,
    pub kernel: usize,
    pub in_channels: usize,
    pub out_channels: usize,
    pub out_h: usize,
    pub out_w: usize,
}

impl LayerShape {
    /// Multiply-accumulates of one inference of this layer.
    pub fn macs(&self) -> u64 {
        (self.out_h * self.out_w * self.kernel * self.kernel * self.in_channels * self.out_channels)
            as u64
    }

    /// Weights plus one bias per output channel (BN folded into it).
    pub fn deployed_params(&self) -> usize {
        self.kernel * self.kernel * self.in_channels * self.out_channels + self.out_channels
    }

    /// Bytes at int8: int8 weights, int32 biases.
    pub fn int8_bytes(&self) -> usize {
        self.kernel * self.kernel * self.in_channels * self.out_channels + 4 * self.out_channels
    }
}

/// Size of the network: what the budget is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cost {
    /// Multiply-accumulates per inference (convolutions only; pooling,
    /// upsampling and adds are not MACs).
    pub macs: u64,
    /// Parameters after BN folding (conv weights + one bias per channel).
    pub params: usize,
    /// Bytes of those parameters at int8 (weights int8, biases int32).
    pub int8_bytes: usize,
}

/// The cart's inference budget, MACs per frame; [`ModelConfig::validate`]
/// refuses a configuration above it.
pub const MAX_MACS: u64 = 10_000_000;
/// The cart's model size budget at int8; [`ModelConfig::validate`] refuses a
/// configuration above it.
pub const MAX_INT8_BYTES: usize = 64 * 1024;

/// Why a [`ModelConfig`] cannot be built or cannot run on the cart.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ModelConfigError {
    #[error("input {h}×{w} (H×W): both sides must be positive multiples of 16")]
    InputSize { h: usize, w: usize },
    #[error("every layer needs at least one channel")]
    NoChannels,
    #[error("{macs} MACs per frame: above the cart's budget of {MAX_MACS}")]
    TooManyMacs { macs: u64 },
    #[error("{bytes} bytes at int8: above the cart's budget of {MAX_INT8_BYTES}")]
    TooLarge { bytes: usize },
}

impl ModelConfig {
    /// The cart's network (`models/cart.snmk`, `train --encoder 4,8,16
    /// --bottleneck 32`): narrow enough for the Cortex-M7's 33 ms frame
    /// budget, which the default widths miss (their instruction counts on
    /// the QEMU board are in `docs/benchmarks.md`). It needs more epochs than
    /// the default to converge.
    pub fn cart() -> Self {
        Self::new().with_encoder([4, 8, 16]).with_bottleneck(32)
    }

    /// The convolutions in execution order with their shapes, computed from
    /// the configuration (the same arithmetic [`SectorNet::forward`] does).
    pub fn layers(&self) -> Vec<LayerShape> {
        let [c1, c2, c3] = self.encoder;
        let b = self.bottleneck;
        let (h, w) = (self.input_h, self.input_w);
        let l = |name, kind, kernel, in_channels, out_channels, div: usize| LayerShape {
            name,
            kind,
            kernel,
            in_channels,
            out_channels,
            out_h: h / div,
            out_w: w / div,
        };
        use LayerKind::{Conv, ConvBnRelu};
        vec![
            l("enc1", ConvBnRelu, 3, 1, c1, 1),
            l("enc2", ConvBnRelu, 3, c1, c2, 2),
            l("enc3", ConvBnRelu, 3, c2, c3, 4),
            l("mid1", ConvBnRelu, 3, c3, b, 8),
            l("ctx1", ConvBnRelu, 3, b, b, 16),
            l("ctx2", ConvBnRelu, 3, b, b, 16),
            l("reduce", ConvBnRelu, 1, b, c3, 8),
            l("dec3", ConvBnRelu, 3, c3, c2, 4),
            l("dec2", ConvBnRelu, 3, c2, c1, 2),
            l("head", Conv, 3, c1, 1, 1),
        ]
    }

    /// MACs, deployed parameters and int8 bytes of the whole network.
    pub fn cost(&self) -> Cost {
        let layers = self.layers();
        Cost {
            macs: layers.iter().map(LayerShape::macs).sum(),
            params: layers.iter().map(LayerShape::deployed_params).sum(),
            int8_bytes: layers.iter().map(LayerShape::int8_bytes).sum(),
        }
    }

    /// Checks the shape constraints (sizes divisible by 16, channels > 0)
    /// and the cart's budgets ([`MAX_MACS`], [`MAX_INT8_BYTES`]).
    pub fn validate(&self) -> Result<(), ModelConfigError> {
        if self.input_h == 0
            || self.input_w == 0
            || !self.input_h.is_multiple_of(16)
            || !self.input_w.is_multiple_of(16)
        {
            return Err(ModelConfigError::InputSize {
                h: self.input_h,
                w: self.input_w,
            });
        }
        if self.encoder.contains(&0) || self.bottleneck == 0 {
            return Err(ModelConfigError::NoChannels);
        }
        let cost = self.cost();
        if cost.macs > MAX_MACS {
            return Err(ModelConfigError::TooManyMacs { macs: cost.macs });
        }
        if cost.int8_bytes > MAX_INT8_BYTES {
            return Err(ModelConfigError::TooLarge {
                bytes: cost.int8_bytes,
            });
        }
        Ok(())
    }

    /// Builds the network on `device` with weights drawn from `seed`
    /// (He-uniform for convolutions, BN at identity, zero biases).
    ///
    /// # Panics
    ///
    /// If the configuration does not [`validate`](Self::validate).
    pub fn init(&self, device: &Device, seed: u64) -> SectorNet {
        if let Err(e) = self.validate() {
            panic!("invalid model config: {e}");
        }
        let mut b = Builder {
            device,
            rng: StdRng::seed_from_u64(seed),
            next_id: 0,
        };
        let [c1, c2, c3] = self.encoder;
        let m = self.bottleneck;
        SectorNet {
            enc1: b.conv_bn(1, c1, 3),
            enc2: b.conv_bn(c1, c2, 3),
            enc3: b.conv_bn(c2, c3, 3),
            mid1: b.conv_bn(c3, m, 3),
            ctx1: b.conv_bn(m, m, 3),
            ctx2: b.conv_bn(m, m, 3),
            reduce: b.conv_bn(m, c3, 1),
            dec3: b.conv_bn(c3, c2, 3),
            dec2: b.conv_bn(c2, c1, 3),
            head: b.conv(c1, 1, 3, true),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
        }
    }
}

/// Makes parameters with seeded values and sequential ids.
struct Builder<'d> {
    device: &'d Device,
    rng: StdRng,
    next_id: u64,
}

impl Builder<'_> {
    fn id(&mut self) -> ParamId {
        self.next_id += 1;
        ParamId::from(self.next_id)
    }

    /// A trainable parameter with a deterministic id.
    fn param<const D: usize>(&mut self, values: Vec<f32>, shape: [usize; D]) -> Param<Tensor<D>> {
        let id = self.id();
        let t = Tensor::<D>::from_data(TensorData::new(values, shape), self.device);
        let (_, value, mapper) = Param::from_tensor(t).consume();
        Param::from_mapped_value(id, value, mapper)
    }

    fn conv(&mut self, cin: usize, cout: usize, k: usize, bias: bool) -> Conv2d {
        let padding = if k == 3 {
            PaddingConfig2d::Explicit(1, 1, 1, 1)
        } else {
            PaddingConfig2d::Valid
        };
        let mut conv = Conv2dConfig::new([cin, cout], [k, k])
            .with_padding(padding)
            .with_bias(bias)
            .init(self.device);
        // He-uniform for ReLU networks: bound sqrt(6 / fan_in).
        let fan_in = cin * k * k;
        let bound = (6.0 / fan_in as f32).sqrt();
        let w: Vec<f32> = (0..cout * fan_in)
            .map(|_| self.rng.random_range(-bound..bound))
            .collect();
        conv.weight = self.param(w, [cout, cin, k, k]);
        conv.bias = bias.then(|| self.param(vec![0.0; cout], [cout]));
        conv
    }

    fn conv_bn(&mut self, cin: usize, cout: usize, k: usize) -> ConvBnRelu {
        let conv = self.conv(cin, cout, k, false);
        let mut bn = BatchNormConfig::new(cout).init(self.device);
        bn.gamma = self.param(vec![1.0; cout], [cout]);
        bn.beta = self.param(vec![0.0; cout], [cout]);
        let mean = Tensor::<1>::zeros([cout], self.device);
        let var = Tensor::<1>::ones([cout], self.device);
        bn.running_mean = RunningState::with_id(self.id(), mean);
        bn.running_var = RunningState::with_id(self.id(), var);
        ConvBnRelu { conv, bn }
    }
}

/// Convolution, BatchNorm, ReLU.
#[derive(Module, Debug)]
pub struct ConvBnRelu {
    pub conv: Conv2d,
    pub bn: BatchNorm,
}

impl ConvBnRelu {
    /// # Shapes
    ///
    /// - input `[batch, in, h, w]`, output `[batch, out, h, w]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        relu(self.bn.forward(self.conv.forward(x)))
    }
}

/// The sector network (see the module documentation).
///
/// ```text
/// x 1×64×80 ─ enc1 ─ e1 8×64×80 ─ pool ─ enc2 ─ e2 16×32×40 ─ pool ─ enc3 ─ e3 32×16×20
///   ─ pool ─ mid1 ─ m 40×8×10 ─ pool ─ ctx1 ─ ctx2 40×4×5 ─ up ─ (+m) ─ reduce(1×1) 32×8×10
///   ─ up ─ (+e3) ─ dec3 16×16×20 ─ up ─ (+e2) ─ dec2 8×32×40 ─ up ─ (+e1) ─ head 1×64×80
/// ```
#[derive(Module, Debug)]
pub struct SectorNet {
    pub enc1: ConvBnRelu,
    pub enc2: ConvBnRelu,
    pub enc3: ConvBnRelu,
    pub mid1: ConvBnRelu,
    pub ctx1: ConvBnRelu,
    pub ctx2: ConvBnRelu,
    pub reduce: ConvBnRelu,
    pub dec3: ConvBnRelu,
    pub dec2: ConvBnRelu,
    pub head: Conv2d,
    pub pool: MaxPool2d,
}

impl SectorNet {
    /// Sector logits (before the sigmoid) for a batch of frames.
    ///
    /// # Shapes
    ///
    /// - `x`: `[batch, 1, H, W]`, luma scaled to `[0, 1]` (`H×W` = 64×80 by default)
    /// - output: `[batch, 1, H, W]` logits; `sigmoid(logit) ≥ 0.5` means "inside the sector"
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let e1 = self.enc1.forward(x);
        let e2 = self.enc2.forward(self.pool.forward(e1.clone()));
        let e3 = self.enc3.forward(self.pool.forward(e2.clone()));
        let m = self.mid1.forward(self.pool.forward(e3.clone()));
        let c = self
            .ctx2
            .forward(self.ctx1.forward(self.pool.forward(m.clone())));
        let r = self.reduce.forward(upsample2(c) + m);
        let d3 = self.dec3.forward(upsample2(r) + e3);
        let d2 = self.dec2.forward(upsample2(d3) + e2);
        self.head.forward(upsample2(d2) + e1)
    }
}

/// ×2 nearest-neighbour upsampling: output `(y, x)` is input `(y/2, x/2)`.
/// Written as reshape + broadcast so the semantics are unambiguous (no
/// align-corners question) and match the int8 engine's kernel.
///
/// # Shapes
///
/// - input `[b, c, h, w]`, output `[b, c, 2h, 2w]`
pub fn upsample2(x: Tensor<4>) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    x.reshape([b, c, h, 1, w, 1])
        .expand([b, c, h, 2, w, 2])
        .reshape([b, c, 2 * h, 2 * w])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_within_budget() {
        let cfg = ModelConfig::new();
        assert_eq!((cfg.input_h, cfg.input_w), (INPUT_H, INPUT_W));
        let cost = cfg.cost();
        assert!(cost.macs <= MAX_MACS, "{cost:?}");
        assert!(cost.int8_bytes <= MAX_INT8_BYTES, "{cost:?}");
        assert!(cost.params <= 60_000, "{cost:?}");
        // Hand count of the first layer: 64·80 px × 9 taps × 1 in × 8 out.
        assert_eq!(cfg.layers()[0].macs(), 64 * 80 * 9 * 8);
        // burn's count includes BN's γ, β and running stats: weights + 4 per BN channel,
        // minus the folded bias per BN channel that `params` counts.
        let net = cfg.init(&Device::flex(), 1);
        let bn_channels: usize = cfg
            .layers()
            .iter()
            .filter(|l| l.kind == LayerKind::ConvBnRelu)
            .map(|l| l.out_channels)
            .sum();
        assert_eq!(net.num_params(), cost.params + 3 * bn_channels);
    }

    #[test]
    fn output_shape_matches_input() {
        let dev = Device::flex();
        let net = ModelConfig::new().init(&dev, 3);
        let x = Tensor::<4>::zeros([2, 1, INPUT_H, INPUT_W], &dev);
        assert_eq!(net.forward(x).dims(), [2, 1, INPUT_H, INPUT_W]);
    }

    #[test]
    fn same_seed_same_weights() {
        let dev = Device::flex();
        let a = ModelConfig::new().init(&dev, 9);
        let b = ModelConfig::new().init(&dev, 9);
        let c = ModelConfig::new().init(&dev, 10);
        let bytes = |m: SectorNet| m.into_record().into_bytes().unwrap().to_vec();
        let (ba, bb, bc) = (bytes(a), bytes(b), bytes(c));
        assert_eq!(ba, bb);
        assert_ne!(ba, bc);
    }

    #[test]
    fn upsample_is_nearest() {
        let dev = Device::flex();
        let x = Tensor::<4>::from_data(
            TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], [1, 1, 2, 3]),
            &dev,
        );
        let y = upsample2(x).into_data().try_into_vec::<f32>().unwrap();
        #[rustfmt::skip]
        let want = vec![
            1.0, 1.0, 2.0, 2.0, 3.0, 3.0,
            1.0, 1.0, 2.0, 2.0, 3.0, 3.0,
            4.0, 4.0, 5.0, 5.0, 6.0, 6.0,
            4.0, 4.0, 5.0, 5.0, 6.0, 6.0,
        ];
        assert_eq!(y, want);
    }

    #[test]
    fn bad_sizes_and_over_budget_configs_are_rejected() {
        assert_eq!(
            ModelConfig::new().with_input_h(60).validate(),
            Err(ModelConfigError::InputSize { h: 60, w: 80 })
        );
        assert_eq!(
            ModelConfig::new().with_bottleneck(0).validate(),
            Err(ModelConfigError::NoChannels)
        );
        assert_eq!(ModelConfig::new().validate(), Ok(()));
        assert_eq!(ModelConfig::cart().validate(), Ok(()));
        let wide = ModelConfig::new().with_encoder([16, 32, 64]);
        assert!(matches!(
            wide.validate(),
            Err(ModelConfigError::TooManyMacs { macs }) if macs > MAX_MACS
        ));
        let deep = ModelConfig::new()
            .with_input_h(16)
            .with_input_w(16)
            .with_encoder([4, 8, 64])
            .with_bottleneck(128);
        assert!(matches!(
            deep.validate(),
            Err(ModelConfigError::TooLarge { bytes }) if bytes > MAX_INT8_BYTES
        ));
    }
}
