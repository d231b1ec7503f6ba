//! End to end through the library, as the CLI chains it: synthesise a dataset
//! to disk, label it with both weak labelers, score the masks, and mask frames
//! in place with the firmware's fail-closed masking from the clip's geometry.

use sonomask_core::{FrameLayout, PixelFormat};
use sonomask_data::dataset::Dataset;
use sonomask_data::synth::{Layout, SynthConfig};
use sonomask_data::weak::{self, Method};
use sonomask_data::{evaluate, synth, synth_io};

#[test]
fn synth_label_eval_and_mask() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let cfg = SynthConfig {
        seed: 21,
        clips: 5,
        frames: 6,
        size: Some((640, 480)),
        layouts: Layout::ALL.to_vec(),
    };
    let frames = synth_io::write_dataset(&cfg, &data_dir, &|| {}).unwrap();
    assert_eq!(frames, 30);
    let data = Dataset::open(&data_dir).unwrap();
    assert_eq!(data.clips().len(), 5);
    for method in Method::ALL {
        let masks = dir.path().join(method.name());
        weak::label_dataset(method, &data, &masks, &|| {}).unwrap();
        let s = evaluate::evaluate(&data, &masks).unwrap();
        assert_eq!(s.clips, 5);
        assert!(s.pixel_accuracy > 0.7, "{method}: {}", s.pixel_accuracy);
    }

    // The ground-truth regions mask a frame so that exactly the sector survives.
    let clip = synth::generate_clip(&cfg, 0);
    let mut frame = clip.frames[0].clone().into_raw();
    let layout = FrameLayout::packed(640, 480, PixelFormat::Rgb888);
    sonomask_firmware::mask_frame(&mut frame, layout, &clip.meta.regions).unwrap();
    for (i, px) in frame.chunks_exact(3).enumerate() {
        if clip.sector.as_raw()[i] == 0 {
            assert_eq!(px, [0, 0, 0], "pixel {i} outside the sector survived");
        }
    }
}
