{
  "targets": [
    {
      "target_name": "mpi",
      "sources": ["mpi.cc", "node-allreduce.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<!@(mpicc --showme:incdirs)"],
      "libraries": ["<!@(mpicc --showme:link)"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "OMPI_SKIP_MPICXX", "MPICH_SKIP_MPICXX"],
      "cflags_cc": ["-O3", "-std=c++17"]
    }
  ]
}
