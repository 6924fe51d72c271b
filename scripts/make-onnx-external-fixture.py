#!/usr/bin/env python3
"""Make test/fixtures/tiny-resnet-ext.onnx + tiny-resnet-ext.onnx.data: the committed tiny-resnet.onnx (made
by make-onnx-fixture.py) with every initializer moved to one external data file, the layout torch >= 2.9's
exporter writes by default (MODEL.onnx beside MODEL.onnx.data). onnx's own writer makes it, so the tests
load external data as the ONNX format defines it, not as we assume it. Same weights: the same CAMs.

Run by hand (not in CI) with Debian's packages:  apt-get install python3-onnx && /usr/bin/python3 scripts/make-onnx-external-fixture.py
"""
import os
import shutil
import onnx

FIX = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures')
m = onnx.load(os.path.join(FIX, 'tiny-resnet.onnx'))
out = os.path.join(FIX, 'tiny-resnet-ext.onnx')
for f in (out, out + '.data'):
    if os.path.exists(f):
        os.remove(f)
onnx.save_model(m, out, save_as_external_data=True, all_tensors_to_one_file=True, location='tiny-resnet-ext.onnx.data', size_threshold=0)
shutil.copyfile(os.path.join(FIX, 'tiny-resnet.json'), os.path.join(FIX, 'tiny-resnet-ext.json'))
ext = sum(1 for t in onnx.load(out, load_external_data=False).graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL)
print(f'{out}: {os.path.getsize(out)} bytes, {ext} initializers in {out}.data ({os.path.getsize(out + ".data")} bytes)')
