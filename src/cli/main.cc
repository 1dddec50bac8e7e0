#include <malloc.h>

#include "cli/app.h"

int main(int argc, char** argv) {
  // A status poll of 10,000 machines fetches its DescribeInstances pages on
  // several threads, then builds an answer of several MB. One arena for the
  // whole process: with an arena per thread, what those threads free stays
  // with their arenas and cannot serve the answer, and peak RSS was 95 MiB
  // instead of 58 (bench, stand-in EC2 row). A fixed mmap threshold: blocks
  // of 1 MiB and more (answers from AWS) go back to the system when freed
  // rather than raising the threshold and leaving holes in the heap (55 MiB).
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  return ohfp::RunApp(argc, argv);
}
