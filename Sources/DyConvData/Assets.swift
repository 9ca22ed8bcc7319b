import DyConvEngine

/// Locates dyconv's `assets/` folder (the bundled Fashion-MNIST sample and other shipped files).
///
/// Search order:
/// 1. `$DYCONV_ASSETS`, if set and an existing directory;
/// 2. walking up from the running executable's directory (`/proc/self/exe`, else
///    `CommandLine.arguments[0]`, symlinks resolved) at most `maximumLevels` levels,
///    the first `assets/` (or `share/dyconv/assets/`) that contains `fashion-mnist-sample/` —
///    this finds the repository's folder from `.build/<triple>/<config>/` binaries and tests;
/// 3. `./assets` in the current directory, if it exists.
public enum Assets {
    /// The environment variable that overrides the search.
    public static let environmentVariable = EnvironmentSetting.assets.rawValue
    /// How many parent directories above the executable's directory are searched.
    public static let maximumLevels = 5

    /// The absolute path of the assets folder.
    ///
    /// - Throws: `DataError(.assetsNotFound)` listing where it looked.
    public static func directory() throws -> String {
        try directory(configured: EnvironmentSetting.assets.text,
                      executable: executablePath(),
                      workingDirectory: Files.currentDirectory())
    }

    /// The search behind `directory()`, with its inputs passed in (for tests).
    static func directory(configured: String?, executable: String?, workingDirectory: String?) throws -> String {
        var tried: [String] = []
        if let configured {
            if Files.isDirectory(configured) { return Files.realPath(configured) ?? configured }
            tried.append("$\(environmentVariable)=\(configured) (not a directory)")
        }
        if let executable {
            var directory = Files.parent(of: executable)
            for _ in 0...maximumLevels {
                for candidate in [Files.join(directory, "assets"), Files.join(directory, "share/dyconv/assets")]
                where Files.isDirectory(Files.join(candidate, FashionMNIST.sampleFolderName)) {
                    return candidate
                }
                if directory == "/" { break }
                directory = Files.parent(of: directory)
            }
            tried.append("up to \(maximumLevels) levels above \(Files.parent(of: executable))")
        } else {
            tried.append("(executable path unknown)")
        }
        if let workingDirectory {
            let local = Files.join(workingDirectory, "assets")
            if Files.isDirectory(local) { return local }
            tried.append(local)
        }
        throw DataError(.assetsNotFound, file: "assets",
                        "cannot find dyconv's assets folder (tried \(tried.joined(separator: ", "))); set \(environmentVariable) to the repository's assets/ directory")
    }

    /// The absolute path of the running executable, symlinks resolved, if it can be determined.
    static func executablePath() -> String? {
        if let viaProc = Files.realPath("/proc/self/exe") { return viaProc }
        guard let first = CommandLine.arguments.first, !first.isEmpty else { return nil }
        if first.contains("/") { return Files.realPath(first) }
        for directory in (Files.environment("PATH") ?? "").split(separator: ":") {
            let candidate = Files.join(String(directory), first)
            if Files.isRegularFile(candidate), let resolved = Files.realPath(candidate) { return resolved }
        }
        return nil
    }
}
