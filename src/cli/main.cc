#include "cli/app.h"

int main(int argc, char** argv) { return ohfp::RunApp(argc, argv); }
