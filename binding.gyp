# node-gyp entry (used by node-gyp-build's install fallback, prebuildify and electron-rebuild).
# It delegates to the CMake build so that both produce the same addon: one source of truth
# for libtorch discovery, flags and the precompiled header. The action leaves
# build/Release/unimrg.node where node-gyp-build and prebuildify look for it.
{
  "targets": [
    {
      "target_name": "unimrg",
      "type": "none",
      "actions": [
        {
          "action_name": "cmake_build",
          "inputs": ["CMakeLists.txt"],
          "outputs": ["<(PRODUCT_DIR)/unimrg.node"],
          "action": ["node", "scripts/build-native.js", "--gyp"]
        }
      ]
    }
  ]
}
