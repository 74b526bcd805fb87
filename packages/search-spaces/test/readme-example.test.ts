import { Rng, searchSpaces, unwrap } from '@metad2a/core';
import { formatMbv3, mbv3, mbv3AccuracyOracle, mbv3Cost, nb201, nb201Cost, nb201Table } from '@metad2a/search-spaces';

// The README example, with the values it quotes.
test('README example', () => {
  const cell = unwrap(nb201.parse('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'));
  expect(nb201.encode(cell).types).toEqual([0, 5, 5, 5, 3, 5, 4, 1]);
  const row = nb201Table().record(cell);
  expect([row.index, row.datasets.cifar10.testAccuracy, row.datasets.cifar100.testAccuracy, row.datasets['imagenet16-120'].testAccuracy]).toEqual([
    6111, 94.373333, 73.22, 46.711111,
  ]);
  expect(nb201Cost(cell)).toEqual({ params: 1073466, macs: 153272960 });

  const subnet = mbv3.sample(new Rng(42));
  expect(formatMbv3(subnet).startsWith('d2:k3e3,k5e3,(k7e4),(k3e6)|d2:')).toBe(true);
  expect(mbv3AccuracyOracle().predict(subnet, 224)).toBeCloseTo(0.8132, 4);
  expect(mbv3Cost(subnet).mflops).toBeCloseTo(255.49, 2);
  expect(searchSpaces.get('mbv3')).toBe(mbv3);
});
