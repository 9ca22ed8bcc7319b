import XCTest
import DyConvEngine
@testable import DyConvUI

/// `update(state, event)`: every key, clicks, resizes and session events.
final class UpdateTests: XCTestCase {
    func fresh(_ index: Int = 0) -> ViewState {
        var s = Fixture.state()
        s.imageIndex = index
        return s
    }

    func testNextImageKeys() {
        for key in [Key.right, .char("l"), .char("n"), .char(" ")] {
            var s = fresh(5)
            XCTAssertEqual(update(&s, .key(key)), [.forward], "\(key)")
            XCTAssertEqual(s.imageIndex, 6, "\(key)")
        }
        var s = fresh(999)
        _ = update(&s, .key(.right))
        XCTAssertEqual(s.imageIndex, 0, "wraps at the end")
    }

    func testPreviousImageKeys() {
        for key in [Key.left, .char("h"), .char("p")] {
            var s = fresh(5)
            XCTAssertEqual(update(&s, .key(key)), [.forward], "\(key)")
            XCTAssertEqual(s.imageIndex, 4, "\(key)")
        }
        var s = fresh(0)
        _ = update(&s, .key(.left))
        XCTAssertEqual(s.imageIndex, 999, "wraps at the start")
    }

    func testPageKeys() {
        var s = fresh(5)
        XCTAssertEqual(update(&s, .key(.pageDown)), [.forward])
        XCTAssertEqual(s.imageIndex, 15)
        XCTAssertEqual(update(&s, .key(.pageUp)), [.forward])
        XCTAssertEqual(s.imageIndex, 5)
    }

    /// Oracle: the one wrapping rule (help text): layers wrap like images — ↓ on the last
    /// layer selects the first, ↑ on the first the last.
    func testLayerSelectionKeysWrap() {
        var s = fresh()
        for key in [Key.down, .char("j")] {
            XCTAssertEqual(update(&s, .key(key)), [])
        }
        XCTAssertEqual(s.selectedLayer, 2)
        for _ in 0..<3 { _ = update(&s, .key(.down)) }
        XCTAssertEqual(s.selectedLayer, 5)
        _ = update(&s, .key(.down))
        XCTAssertEqual(s.selectedLayer, 0, "↓ on the last layer wraps to the first")
        _ = update(&s, .key(.up))
        XCTAssertEqual(s.selectedLayer, 5, "↑ on the first layer wraps to the last")
        _ = update(&s, .key(.char("k")))
        XCTAssertEqual(s.selectedLayer, 4)
    }

    func testTemperatureUpKeys() {
        for key in [Key.char("+"), .char("="), .char("]")] {
            var s = fresh()
            XCTAssertEqual(update(&s, .key(key)), [.forward, .prefill], "\(key)")
            XCTAssertEqual(s.temperature!, 1.25, accuracy: 1e-6)
            XCTAssertEqual(s.configKey.temperature!, 1.25, accuracy: 1e-6)
        }
    }

    func testTemperatureDownKeys() {
        for key in [Key.char("-"), .char("_"), .char("[")] {
            var s = fresh()
            XCTAssertEqual(update(&s, .key(key)), [.forward, .prefill], "\(key)")
            XCTAssertEqual(s.temperature!, 0.8, accuracy: 1e-6)
        }
    }

    func testTemperatureStepsBackToTrained() {
        var s = fresh()
        _ = update(&s, .key(.char("+")))
        _ = update(&s, .key(.char("-")))
        XCTAssertNil(s.temperature, "returning to the trained τ shows it as trained")
        XCTAssertTrue(s.isTrainedTemperature)
    }

    func testTemperatureClampedToRange() {
        var s = fresh()
        for _ in 0..<100 { _ = update(&s, .key(.char("-"))) }
        XCTAssertEqual(s.temperature, temperatureRange.lowerBound)
        XCTAssertEqual(update(&s, .key(.char("-"))), [])
        XCTAssertNotNil(s.message)
    }

    /// τ keys stay inside the engine's `Limits.temperature` at both ends, from any start
    /// (oracle: the range the engine and `--tau` accept).
    func testTemperatureKeysStayInsideEngineLimits() {
        XCTAssertEqual(temperatureRange, Limits.temperature)
        var s = fresh()
        for _ in 0..<200 {
            _ = update(&s, .key(.char("+")))
            XCTAssertTrue(Limits.isValidTemperature(s.effectiveTemperature!), "\(s.effectiveTemperature!)")
        }
        XCTAssertEqual(s.temperature, Limits.temperature.upperBound)
        XCTAssertEqual(update(&s, .key(.char("+"))), [], "at the maximum")
        for _ in 0..<200 {
            _ = update(&s, .key(.char("-")))
            XCTAssertTrue(Limits.isValidTemperature(s.effectiveTemperature!), "\(s.effectiveTemperature!)")
        }
        XCTAssertEqual(s.temperature, Limits.temperature.lowerBound)
        // Started at the bound by --tau: one step further stays there.
        var t = Fixture.state()
        t.temperature = Limits.temperature.lowerBound
        XCTAssertEqual(update(&t, .key(.char("-"))), [])
        XCTAssertEqual(t.temperature, Limits.temperature.lowerBound)
    }

    func testZeroRestoresTrainedTemperature() {
        var s = fresh()
        _ = update(&s, .key(.char("+")))
        XCTAssertEqual(update(&s, .key(.char("0"))), [.forward, .prefill])
        XCTAssertNil(s.temperature)
        XCTAssertEqual(update(&s, .key(.char("0"))), [], "already trained: nothing to do")
    }

    func testModeCycles() {
        var s = fresh()
        var seen: [AggregationMode] = [s.mode]
        for _ in 0..<AggregationMode.allCases.count {
            XCTAssertEqual(update(&s, .key(.char("m"))), [.forward, .prefill])
            seen.append(s.mode)
        }
        XCTAssertEqual(seen, [.attention, .average, .max, .shuffleImage, .shuffleAcross, .attention])
    }

    func testSameClass() {
        var s = fresh(0)
        let label = s.dataset.labels![0]
        XCTAssertEqual(update(&s, .key(.char("c"))), [.forward])
        XCTAssertEqual(s.dataset.labels![s.imageIndex], label)
        XCTAssertEqual(s.imageIndex, 10, "labels repeat every 10 images in the fixture")
        s.imageIndex = 995
        _ = update(&s, .key(.char("c")))
        XCTAssertEqual(s.imageIndex, 5, "wraps around")
    }

    func testMisclassifiedAsksSession() {
        var s = fresh(7)
        XCTAssertEqual(update(&s, .key(.char("x"))), [.findMisclassified(from: 8)])
        XCTAssertEqual(update(&s, .searchFinished(found: 42, searched: 35)), [.forward])
        XCTAssertEqual(s.imageIndex, 42)
        XCTAssertEqual(s.message, "misclassified image #42")
        XCTAssertEqual(update(&s, .searchFinished(found: nil, searched: 1000)), [])
        XCTAssertEqual(s.message, "no misclassified image among 1000 images")
    }

    func testFirstAndLast() {
        var s = fresh(500)
        XCTAssertEqual(update(&s, .key(.char("G"))), [.forward])
        XCTAssertEqual(s.imageIndex, 999)
        XCTAssertEqual(update(&s, .key(.char("g"))), [.forward])
        XCTAssertEqual(s.imageIndex, 0)
        XCTAssertEqual(update(&s, .key(.char("g"))), [], "already first")
        _ = update(&s, .key(.end))
        XCTAssertEqual(s.imageIndex, 999)
        _ = update(&s, .key(.home))
        XCTAssertEqual(s.imageIndex, 0)
    }

    func testGoToIndex() {
        var s = fresh()
        XCTAssertEqual(update(&s, .key(.char("/"))), [])
        XCTAssertEqual(s.gotoInput, "")
        for c in "4x27".unicodeScalars where c != "x" { _ = update(&s, .key(.char(c))) }
        XCTAssertEqual(s.gotoInput, "427")
        _ = update(&s, .key(.backspace))
        XCTAssertEqual(s.gotoInput, "42")
        XCTAssertEqual(render(s).text.contains("go to image: 42"), true)
        XCTAssertEqual(update(&s, .key(.enter)), [.forward])
        XCTAssertEqual(s.imageIndex, 42)
        XCTAssertNil(s.gotoInput)
    }

    func testGoToOutOfRangeAndCancel() {
        var s = fresh(3)
        _ = update(&s, .key(.char("/")))
        for c in "5000".unicodeScalars { _ = update(&s, .key(.char(c))) }
        XCTAssertEqual(update(&s, .key(.enter)), [])
        XCTAssertEqual(s.imageIndex, 3)
        XCTAssertEqual(s.message, "image index 5000 out of range 0–999")
        _ = update(&s, .key(.char("/")))
        _ = update(&s, .key(.char("9")))
        XCTAssertEqual(update(&s, .key(.escape)), [])
        XCTAssertNil(s.gotoInput)
        XCTAssertEqual(s.imageIndex, 3)
    }

    /// Issue #8: `/1m` changed the mode. While the prompt is open every key goes to it:
    /// non-digits (letters, arrows, q, Tab, +) change nothing and keep the prompt; Backspace
    /// edits, Esc cancels, Enter commits. Oracle: the state equals the state before the key.
    func testGoToPromptTakesEveryKey() {
        var s = fresh(3)
        _ = update(&s, .key(.char("/")))
        _ = update(&s, .key(.char("1")))
        let typing = s
        for key in [Key.char("m"), .char("q"), .char("d"), .char("+"), .char("x"), .char("?"), .char("/"),
                    .right, .left, .up, .down, .pageDown, .home, .end, .tab, .backTab, .char(" ")] {
            var t = typing
            XCTAssertEqual(update(&t, .key(key)), [], "\(key)")
            XCTAssertEqual(t, typing, "\(key) must not leave the prompt or act")
        }
        // The sequence of the report: `/1m` then Enter goes to image 1 in mode attention.
        _ = update(&s, .key(.char("m")))
        XCTAssertEqual(s.mode, .attention)
        XCTAssertEqual(s.gotoInput, "1")
        _ = update(&s, .key(.char("2")))
        _ = update(&s, .key(.backspace))
        XCTAssertEqual(s.gotoInput, "1")
        XCTAssertEqual(update(&s, .key(.enter)), [.forward])
        XCTAssertEqual(s.imageIndex, 1)
        XCTAssertNil(s.gotoInput)
        // Esc cancels without moving; Ctrl-C still quits from the prompt.
        _ = update(&s, .key(.char("/")))
        _ = update(&s, .key(.char("7")))
        XCTAssertEqual(update(&s, .key(.escape)), [])
        XCTAssertNil(s.gotoInput)
        XCTAssertEqual(s.imageIndex, 1)
        _ = update(&s, .key(.char("/")))
        XCTAssertEqual(update(&s, .key(.interrupt)), [.quit])
        XCTAssertTrue(s.quit)
    }

    func testDatasetViewToggle() {
        var s = fresh()
        XCTAssertEqual(update(&s, .key(.char("d"))), [.evaluate])
        XCTAssertTrue(s.showDataset)
        // While it is open, configuration changes re-evaluate.
        XCTAssertEqual(update(&s, .key(.char("+"))), [.forward, .prefill, .evaluate])
        XCTAssertEqual(update(&s, .key(.char("m"))), [.forward, .prefill, .evaluate])
        XCTAssertEqual(update(&s, .key(.right)), [.forward], "a new image does not change the evaluation")
        XCTAssertEqual(update(&s, .key(.char("d"))), [.cancelEvaluation])
        XCTAssertFalse(s.showDataset)
        _ = update(&s, .key(.char("d")))
        XCTAssertEqual(update(&s, .key(.escape)), [.cancelEvaluation])
        XCTAssertFalse(s.showDataset)
    }

    func testEpochKeys() {
        var s = fresh()
        XCTAssertNil(s.epochIndex)
        XCTAssertEqual(update(&s, .key(.char(">"))), [])
        XCTAssertEqual(s.message, "already at the final checkpoint")
        XCTAssertEqual(update(&s, .key(.char("<"))), [.forward, .prefill])
        XCTAssertEqual(s.epochIndex, 3)
        XCTAssertEqual(s.configKey.epoch, 3)
        for _ in 0..<5 { _ = update(&s, .key(.char(","))) }
        XCTAssertEqual(s.epochIndex, 0)
        XCTAssertEqual(s.message, "already at the first snapshot")
        // The snapshot's τ is the one used (30 at epoch 1), and shown as such.
        XCTAssertEqual(s.configKey.temperature, 30)
        XCTAssertEqual(temperatureLabel(s), "τ 30.0 (epoch 1's)")
        _ = update(&s, .key(.char(".")))
        XCTAssertEqual(s.epochIndex, 1)
        for _ in 0..<3 { _ = update(&s, .key(.char(">"))) }
        XCTAssertNil(s.epochIndex, "past the last snapshot is the final checkpoint")
        // A checkpoint without snapshots says so.
        _ = update(&s, .key(.tab))
        XCTAssertEqual(update(&s, .key(.char("<"))), [])
        XCTAssertEqual(s.message, "dycnn-condconv has no training snapshots")
    }

    func testCheckpointKeys() {
        var s = fresh()
        _ = update(&s, .key(.char("<")))
        for _ in 0..<5 { _ = update(&s, .key(.down)) }
        XCTAssertEqual(update(&s, .key(.tab)), [.forward, .prefill])
        XCTAssertEqual(s.checkpointIndex, 1)
        XCTAssertNil(s.epochIndex, "switching checkpoint leaves the snapshots")
        XCTAssertEqual(s.selectedLayer, 5)
        _ = update(&s, .key(.tab))
        XCTAssertEqual(s.checkpointIndex, 2)
        XCTAssertEqual(s.selectedLayer, 0, "a static network has no layer to select")
        _ = update(&s, .key(.tab))
        XCTAssertEqual(s.checkpointIndex, 0)
        _ = update(&s, .key(.backTab))
        XCTAssertEqual(s.checkpointIndex, 2)
        var single = Fixture.state(checkpoints: [Fixture.dynamic])
        XCTAssertEqual(update(&single, .key(.tab)), [])
        XCTAssertEqual(single.message, "only one checkpoint is open")
    }

    func testStaticNetworkIgnoresTemperatureAndMode() {
        var s = Fixture.state(checkpoints: [Fixture.staticNet])
        for key in [Key.char("+"), .char("-"), .char("0"), .char("m")] {
            XCTAssertEqual(update(&s, .key(key)), [], "\(key)")
            XCTAssertNotNil(s.message)
        }
        XCTAssertNil(s.configKey.temperature)
        XCTAssertEqual(s.configKey.mode, .attention)
    }

    func testHelpKeys() {
        var s = fresh()
        XCTAssertEqual(update(&s, .key(.char("?"))), [])
        XCTAssertTrue(s.showHelp)
        // Any key closes it and does nothing else.
        XCTAssertEqual(update(&s, .key(.right)), [])
        XCTAssertFalse(s.showHelp)
        XCTAssertEqual(s.imageIndex, 0)
        _ = update(&s, .key(.char("?")))
        XCTAssertEqual(update(&s, .mouse(MouseEvent(x: 3, y: 3))), [])
        XCTAssertFalse(s.showHelp)
        // F1 toggles it, also from the index prompt (which it cancels).
        XCTAssertEqual(update(&s, .key(.function(1))), [])
        XCTAssertTrue(s.showHelp)
        XCTAssertEqual(update(&s, .key(.function(1))), [])
        XCTAssertFalse(s.showHelp)
        _ = update(&s, .key(.char("/")))
        XCTAssertNotNil(s.gotoInput)
        _ = update(&s, .key(.function(1)))
        XCTAssertTrue(s.showHelp)
        XCTAssertNil(s.gotoInput)
        // Other function keys do nothing.
        _ = update(&s, .key(.function(1)))
        let before = s
        XCTAssertEqual(update(&s, .key(.function(5))), [])
        XCTAssertEqual(s, before)
    }

    func testQuitKeys() {
        for key in [Key.char("q"), .interrupt, .function(10)] {
            var s = fresh()
            XCTAssertEqual(update(&s, .key(key)), [.quit])
            XCTAssertTrue(s.quit)
        }
        var s = fresh()
        _ = update(&s, .key(.char("?")))
        XCTAssertEqual(update(&s, .key(.char("q"))), [.quit], "q quits even over the help")
        var t = fresh()
        _ = update(&t, .key(.char("?")))
        XCTAssertEqual(update(&t, .key(.function(10))), [.quit], "F10 quits even over the help")
        var u = fresh()
        _ = update(&u, .key(.char("/")))
        XCTAssertEqual(update(&u, .key(.function(10))), [.quit], "F10 quits from the index prompt too")
    }

    /// The status line keeps its segments in place while τ changes: "mode" and "forward" start
    /// at the same column for every τ from the widest text down (oracle: the column at τ = 1).
    func testStatusLineSegmentsStayPutAsTauChanges() {
        var s = fresh()
        let bottom = s.height - 1
        func column(_ word: String) -> Int? {
            let row = render(s).row(bottom)
            return row.range(of: word).map { row.distance(from: row.startIndex, to: $0.lowerBound) }
        }
        let mode = column("mode "), forward = column("forward ")
        XCTAssertNotNil(mode)
        for t: Float in [0.0001, 0.0512, 0.8, 12.5, 125, 100_000] {
            s.temperature = t
            XCTAssertEqual(column("mode "), mode, "τ \(t)")
            XCTAssertEqual(column("forward "), forward, "τ \(t)")
        }
    }

    /// An unbound printable key changes nothing but says so (no effect, no other state change).
    func testUnknownKeyDoesNothingButSaysSo() {
        var s = fresh()
        var before = s
        XCTAssertEqual(update(&s, .key(.char("Z"))), [])
        XCTAssertEqual(s.message, "Z does nothing here · ? lists the keys")
        before.message = s.message
        XCTAssertEqual(s, before)
        // Non-printable keys stay silent.
        s.message = nil
        XCTAssertEqual(update(&s, .key(.function(5))), [])
        XCTAssertNil(s.message)
    }

    func testMessageClearedByNextKey() {
        var s = fresh()
        _ = update(&s, .message("hello"))
        XCTAssertEqual(s.message, "hello")
        _ = update(&s, .key(.down))
        XCTAssertNil(s.message)
    }

    func testClickSelectsLayerRow() {
        var h = Harness(Fixture.state())
        let layout = Layout(h.state)
        let y = layout.row(ofLayer: 4, layerCount: 6, selected: 0)!
        XCTAssertEqual(h.send(.mouse(MouseEvent(x: layout.attention.x + 5, y: y))), [])
        XCTAssertEqual(h.state.selectedLayer, 4)
        // The row is highlighted where it was clicked.
        XCTAssertEqual(h.screen[layout.attention.x, y].scalar, "▶")
        // Clicks elsewhere do nothing.
        h.send(.mouse(MouseEvent(x: 2, y: 5)))
        h.send(.mouse(MouseEvent(x: layout.attention.x + 5, y: layout.attention.y)))
        XCTAssertEqual(h.state.selectedLayer, 4)
    }

    func testClickWithScrolledLayers() {
        // 30 layers in a 24-row terminal: the list scrolls and clicks map through the offset.
        let many = (0..<30).map { LayerSummary(name: "block\($0).conv", routing: .softmax, kernels: 4, trainedTemperature: 1) }
        let cp = CheckpointSummary(name: "deep", family: "test", layers: many, classes: Fixture.classNames)
        var s = Fixture.state(width: 80, height: 24, checkpoints: [cp])
        s.selectedLayer = 20
        let layout = Layout(s)
        let first = layout.firstVisibleLayer(layerCount: 30, selected: 20)
        XCTAssertGreaterThan(first, 0)
        XCTAssertLessThanOrEqual(first, 20)
        XCTAssertLessThan(20, first + layout.attentionVisibleRows)
        let y = layout.attention.y + Layout.attentionHeaderRows
        _ = update(&s, .mouse(MouseEvent(x: layout.attention.x + 3, y: y)))
        XCTAssertEqual(s.selectedLayer, first)
    }

    func testResize() {
        var s = fresh()
        XCTAssertEqual(update(&s, .resize(width: 70, height: 20)), [])
        XCTAssertEqual(s.width, 70)
        XCTAssertEqual(s.height, 20)
        XCTAssertFalse(Layout(s).fits)
    }

    func testForwardResultsAndCloud() {
        var s = fresh()
        let r0 = Fixture.result(for: s)
        _ = update(&s, .forwardCompleted(r0))
        XCTAssertEqual(s.currentResult, r0)
        XCTAssertEqual(s.cloud.count, 1)
        _ = update(&s, .key(.right))
        // A stale result (other image) is ignored.
        _ = update(&s, .forwardCompleted(r0))
        XCTAssertNil(s.currentResult)
        _ = update(&s, .forwardCompleted(Fixture.result(for: s)))
        XCTAssertEqual(s.cloud.count, 2)
        _ = update(&s, .forwardCompleted(Fixture.result(for: s)))
        XCTAssertEqual(s.cloud.count, 2, "an image enters the cloud once")
        XCTAssertEqual(s.cloud.layers[0].count, 2 * 4)
        // A new τ keeps the points, stale, and replaces them as they are recomputed.
        _ = update(&s, .key(.char("+")))
        _ = update(&s, .forwardCompleted(Fixture.result(for: s)))
        XCTAssertEqual(s.cloud.count, 2)
        XCTAssertEqual(s.cloud.freshCount, 1)
        // Another checkpoint empties the cloud.
        _ = update(&s, .key(.tab))
        _ = update(&s, .forwardCompleted(Fixture.result(for: s)))
        XCTAssertEqual(s.cloud.count, 1)
    }

    func testCloudBatchesFromEvaluation() {
        var s = fresh()
        let key = s.configKey
        let batch = CloudBatch(key: key, indices: [10, 11, 12],
                               layers: Array(repeating: [Float](repeating: 0.25, count: 12), count: 6),
                               entropies: Array(repeating: [Float](repeating: 1, count: 3), count: 6),
                               kernels: Array(repeating: 4, count: 6))
        _ = update(&s, .cloudPoints(batch))
        XCTAssertEqual(s.cloud.count, 3)
        var other = batch
        other.key.mode = .max
        _ = update(&s, .cloudPoints(other))
        XCTAssertEqual(s.cloud.count, 3, "points of another configuration are ignored")
    }

    /// A profile batch of `indices` under `key`: π of kernel `hot` set to `value` (the rest
    /// share 1 − value), H/lnK `entropy`, 6 layers of K = 4 (the fixture's dynamic network).
    func profileBatch(_ key: ConfigKey, _ indices: [Int], hot: Int = 0, value: Float = 0.25, entropy: Float = 1) -> CloudBatch {
        let pi = (0..<4).map { $0 == hot ? value : (1 - value) / 3 }
        return CloudBatch(key: key, indices: indices,
                          layers: Array(repeating: Array(indices.map { _ in pi }.joined()), count: 6),
                          entropies: Array(repeating: [Float](repeating: entropy, count: indices.count), count: 6),
                          kernels: Array(repeating: 4, count: 6), done: indices.count, total: 1000)
    }

    /// The profile's batches after a τ change: the old points stay (stale) and turn fresh as
    /// the new pass reports them; a late batch of the old configuration (a cancelled pass)
    /// changes nothing. Oracle: the counts and values of the batches sent.
    func testProfileBatchesTurnStalePointsFresh() {
        var s = fresh()
        let old = s.configKey
        _ = update(&s, .cloudPoints(profileBatch(old, [0, 1, 2, 3], value: 0.25)))
        XCTAssertEqual(s.cloud.count, 4)
        XCTAssertEqual(s.cloud.freshCount, 4)
        XCTAssertEqual(update(&s, .key(.char("-"))), [.forward, .prefill])
        let new = s.configKey
        XCTAssertNotEqual(new, old)
        _ = update(&s, .cloudPoints(profileBatch(new, [0, 1], hot: 2, value: 0.9, entropy: 0.3)))
        XCTAssertEqual(s.cloud.count, 4, "points kept")
        XCTAssertEqual(s.cloud.freshCount, 2)
        XCTAssertFalse(s.cloud.isFresh)
        XCTAssertEqual(Array(s.cloud.attention(point: 0, layer: 3))[2], 0.9, "replaced in place")
        XCTAssertEqual(Array(s.cloud.attention(point: 3, layer: 3))[0], 0.25, "stale point kept as it was")
        // A late batch of the cancelled pass (old τ) is ignored: images 2, 3 stay stale.
        _ = update(&s, .cloudPoints(profileBatch(old, [2, 3], value: 0.5)))
        XCTAssertEqual(s.cloud.freshCount, 2)
        XCTAssertEqual(Array(s.cloud.attention(point: 3, layer: 3))[0], 0.25)
        _ = update(&s, .cloudPoints(profileBatch(new, [2, 3], hot: 2, value: 0.9, entropy: 0.3)))
        XCTAssertTrue(s.cloud.isFresh)
        XCTAssertEqual(s.cloud.freshCount, 4)
        // The profiles follow the batches: every H/lnK is now 0.3.
        XCTAssertEqual(s.cloud.profiles.count, 6)
        XCTAssertEqual(s.cloud.profiles[5].sortedEntropy, [0.3, 0.3, 0.3, 0.3])
    }

    /// Images from `profileLimit` on never enter the cloud. Oracle: the limit set.
    func testProfileBatchIndicesBeyondTheLimitAreIgnored() {
        var s = fresh()
        s.dataset.profileLimit = 3
        _ = update(&s, .cloudPoints(profileBatch(s.configKey, [1, 2, 3, 4])))
        XCTAssertEqual(s.cloud.indices, [1, 2])
        XCTAssertEqual(s.cloud.profiles.first?.count, 2)
    }

    func testProgressEventsAreStoredByKey() {
        var s = fresh()
        let p = EvaluationProgress(key: s.evaluationKey, done: 10, total: 100, correct: 7, entropySums: [5, 6])
        _ = update(&s, .evaluationProgress(p))
        XCTAssertEqual(s.evaluation, p)
        XCTAssertEqual(p.accuracy!, 0.7, accuracy: 1e-12)
        XCTAssertEqual(p.meanEntropy(1)!, 0.6, accuracy: 1e-12)
        _ = update(&s, .key(.char("+")))
        XCTAssertNil(s.evaluation, "another τ has its own evaluation")
        _ = update(&s, .key(.char("0")))
        XCTAssertEqual(s.evaluation, p)
        let sweep = SweepProgress(key: s.sweepKey, temperatures: [1, 2], points: [SweepPoint(temperature: 1, accuracy: 0.5, meanEntropy: 0.4)])
        _ = update(&s, .sweepProgress(sweep))
        XCTAssertEqual(s.sweep, sweep)
        XCTAssertEqual(sweep.fraction, 0.5)
        _ = update(&s, .key(.char("+")))
        XCTAssertEqual(s.sweep, sweep, "the sweep does not depend on the current τ")
    }

    func testFailureMessage() {
        var s = fresh()
        _ = update(&s, .failed("cannot load snapshot"))
        XCTAssertEqual(s.message, "cannot load snapshot")
        XCTAssertTrue(render(s).text.contains("cannot load snapshot"))
    }
}
