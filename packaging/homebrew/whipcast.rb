# whipcast's Homebrew formula, for a tap: brew tap whipcast/whipcast && brew install whipcast
#
# This is the template. `bun run release` writes dist/release/whipcast.rb from it, with the
# version, and one url and sha256 per archive taken from that release's SHA256SUMS, so that the
# formula cannot drift from what was built. Everything between "release: archives" and
# "release: end" is replaced; the rest is published as written here.
class Whipcast < Formula
  desc "Stream a camera, screen, file or test pattern to any WHIP endpoint, live in under a second"
  homepage "https://github.com/whipcast/whipcast"
  version "0.0.0"
  license "MIT"

  # release: archives
  on_macos do
    on_arm do
      url "https://github.com/whipcast/whipcast/releases/download/v0.0.0/whipcast-0.0.0-darwin-arm64.tar.gz"
      sha256 "0000000000000000000000000000000000000000000000000000000000000000"
    end
  end
  # release: end

  # whipcast runs the ffmpeg on PATH when its archive embeds none: Homebrew's, with VideoToolbox.
  depends_on "ffmpeg"

  def install
    bin.install "whipcast"
    bash_completion.install "completions/whipcast.bash" => "whipcast"
    zsh_completion.install "completions/_whipcast"
    fish_completion.install "completions/whipcast.fish"
  end

  def caveats
    <<~EOS
      `brew services start whipcast` publishes with the settings in
        #{etc}/whipcast/publish.conf
      one `flag = value` per line, for example:
        url = https://example.com/whip/show
        token-file = #{Dir.home}/.config/whipcast/token
        source = camera
      (keep the token in that file, readable only by you: chmod 600). The service restarts after a
      failure, not after a clean stop, and logs to #{var}/log/whipcast.log.

      macOS asks once for camera and microphone access, and a service has no one to answer: run
        whipcast publish --config #{etc}/whipcast/publish.conf --duration 5
      by hand first, and allow it.
    EOS
  end

  service do
    run [opt_bin/"whipcast", "publish", "--config", etc/"whipcast/publish.conf", "--log", "json"]
    keep_alive successful_exit: false
    restart_delay 10
    process_type :interactive
    log_path var/"log/whipcast.log"
    error_log_path var/"log/whipcast.log"
  end

  test do
    assert_match "whipcast #{version}", shell_output("#{bin}/whipcast --version")
    # A short test pattern into whipcast's own server on 127.0.0.1: the watch address is printed
    # only once the stream is live, and a clean stop exits 0.
    output = shell_output("#{bin}/whipcast publish --source test --size 320x240 --duration 3 --log json")
    assert_match %r{watch at http://127\.0\.0\.1:\d+/watch/live}, output
    assert_match "libx264", shell_output("#{bin}/whipcast doctor --log json")
  end
end
