import DyConvData
import DyConvEngine
import DyConvTestSupport
import Testing

/// The fixtures' PNG files read by dyconv's own image reader give the input PyTorch fed.
///
/// The preset tests run the engine on `expected.safetensors["input"]` (what PyTorch's
/// `ToTensor` + `Normalize` made of the PNGs) and match PyTorch's probabilities and π; this
/// closes the chain PNG → pixels → normalised input. Oracle: PyTorch's input tensor, written by
/// tools/make_import_fixtures.py and tools/make_tardelean_fixtures.py from the same PNGs.
@Suite("fixture PNGs through dyconv's image reader")
struct FixtureImageTests {
    static let cifar = Normalization(mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.2010])
    static let imageNet = Normalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
    static let fixtures: [(String, Normalization)] = [
        ("dyconv", cifar), ("kaijieshi7-resnet18", cifar), ("kaijieshi7-resnet34", cifar),
        ("tardelean-resnet10", cifar), ("tardelean-resnet18", cifar), ("tardelean-mobilenetv2", imageNet),
    ]

    @Test(arguments: fixtures.map(\.0))
    func pngsGivePyTorchsInput(_ folder: String) throws {
        let normalization = try #require(Self.fixtures.first { $0.0 == folder }?.1)
        let fixture = try ImportFixture(folder)
        let input = try #require(try fixture.expected()["input"])
        let n = input.shape[0]
        let shape = InputSpec(channels: input.shape[1], height: input.shape[2], width: input.shape[3])
        let found = try DatasetDiscovery.load(imageFiles: (0..<n).map { fixture.path("image\($0).png") }, input: shape)
        #expect(!found.resized, "the fixture PNGs have the model's size: nothing to resize")
        #expect(found.dataset.labels == nil)
        let batch = found.dataset.batch(0..<n, normalization: normalization)
        #expect(batch.shape == input.shape)
        #expect(batch.maxAbsDifference(input) <= 1e-5, "\(folder): PNG → normalised input")
    }
}
